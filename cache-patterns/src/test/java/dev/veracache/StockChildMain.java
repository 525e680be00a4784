package dev.veracache;

import com.mysql.cj.jdbc.MysqlDataSource;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A flash-sale buyer or flusher in a JVM of its own, for the kill -9 tests ({@link StockKillIT}). Arguments:
 * {@code buyer <redisUri> <bootstrap> <topic> <namespace> <item> <threads> <startFile or -> <appliedTable>}: once the
 * start file exists (at once for {@code -}), buys one unit at a time on each thread until sold out, printing {@code ACK <saleId>} once a sale is logged, then {@code DONE}; {@code flusher <redisUri>
 * <bootstrap> <topic> <namespace> <jdbcUrl> <user> <stockTable> <appliedTable> <group>}: runs a stock flusher,
 * printing {@code READY}. Either halts when its stdin closes, so it never outlives the test.
 */
public final class StockChildMain {

  private StockChildMain() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Thread watchParent = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // wait for EOF
        }
      } catch (Exception e) {
        // EOF or error: the parent is gone
      }
      Runtime.getRuntime().halt(0);
    });
    watchParent.setDaemon(true);
    watchParent.start();
    Veracache veracache = Veracache.create(VeracacheOptions.builder(args[1]).build());
    StockOptions options = StockOptions.builder(args[4], args[2], args[3]).sendTimeout(Duration.ofSeconds(1))
        .orphanAfter(Duration.ofSeconds(2)).appliedTable(args[8])
        // A flusher killed -9 holds its partitions until its session times out: 3 s instead of 45 s.
        .kafkaProperty("session.timeout.ms", "3000").kafkaProperty("heartbeat.interval.ms", "500")
        .build();
    if (args[0].equals("buyer")) {
      FlashSaleStock stock = veracache.flashSaleStock(options);
      String item = args[5];
      if (!args[7].equals("-")) { // the test's latch: it creates the file when this buyer may start
        java.nio.file.Path startFile = java.nio.file.Path.of(args[7]);
        while (!java.nio.file.Files.exists(startFile)) {
          Thread.sleep(10);
        }
      }
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < Integer.parseInt(args[6]); i++) {
        Thread t = new Thread(() -> {
          while (true) {
            Sale sale = stock.decrementIfEnough(item, 1);
            if (!sale.taken()) {
              return;
            }
            out.println("ACK " + sale.id());
          }
        });
        t.start();
        threads.add(t);
      }
      for (Thread t : threads) {
        t.join();
      }
      out.println("DONE");
      Thread.sleep(Long.MAX_VALUE);
    } else {
      MysqlDataSource ds = new MysqlDataSource();
      ds.setURL(args[5]);
      ds.setUser(args[6]);
      String stockTable = args[7];
      veracache.stockFlusher(options, FlusherOptions.builder(args[9]).retryBackoff(Duration.ofMillis(50),
          Duration.ofMillis(400)).build(), ds, (connection, units) -> StockTable.add(connection, stockTable, units));
      out.println("READY");
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}
