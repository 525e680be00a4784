package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.stack.KafkaServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * The flash sale with kill -9: buyers and the flusher run in JVMs of their own ({@link StockChildMain}) and are killed
 * mid-sale. Wherever the kills land, nothing is oversold, the database ends at zero, the sales it applied are exactly
 * the stock, and every sale a buyer was told about is among them.
 */
class StockKillIT extends RealServersTest {

  private static final String ITEM = "flash-1";
  private static final int UNITS = 200;
  private static final Duration STARTED = Duration.ofSeconds(60);

  @Test
  void killingABuyerAndTheFlusherMidSaleSellsExactlyTheStockAndAppliesEverySaleABuyerWasToldAbout(KafkaServer kafka)
      throws Exception {
    String topic = "stock-" + namespace;
    kafka.createTopic(topic, 2);
    kafka.createTopic(topic + FlusherOptions.DEFAULT_DEAD_LETTER_SUFFIX, 1);
    StockTable stock = new StockTable(db, "stock_" + namespace);
    stock.put(ITEM, UNITS);
    FlashSaleStock sale = newInstance().flashSaleStock(StockOptions.builder(namespace, kafka.bootstrapServers(), topic)
        .sendTimeout(Duration.ofSeconds(1)).orphanAfter(Duration.ofSeconds(2)).appliedTable(stock.appliedTable)
        .build());
    sale.open(ITEM, UNITS);
    String[] flusherArgs = {"flusher", redisServer.uri(), kafka.bootstrapServers(), topic, namespace, db.jdbcUrl(),
        db.user(), stock.table, stock.appliedTable, "flush-" + namespace};
    String[] buyerArgs = {"buyer", redisServer.uri(), kafka.bootstrapServers(), topic, namespace, ITEM, "4", "-",
        stock.appliedTable};
    // Buyer B starts buying only once A has been told of 30 sales: otherwise a fast B could sell out first.
    java.nio.file.Path startB = java.nio.file.Files.createTempDirectory("stock-kill").resolve("start-b");
    closeLater(() -> {
      java.nio.file.Files.deleteIfExists(startB);
      java.nio.file.Files.deleteIfExists(startB.getParent());
    });
    String[] laterBuyerArgs = buyerArgs.clone();
    laterBuyerArgs[7] = startB.toString();
    Set<String> told = ConcurrentHashMap.newKeySet();
    try (ChildJvm firstFlusher = ChildJvm.start(StockChildMain.class, flusherArgs);
         ChildJvm buyerA = ChildJvm.start(StockChildMain.class, buyerArgs);
         ChildJvm buyerB = ChildJvm.start(StockChildMain.class, laterBuyerArgs)) {
      firstFlusher.awaitLine("READY", STARTED);
      buyerA.awaitLines("ACK", 30, STARTED);
      java.nio.file.Files.createFile(startB); // B buys alongside A from here
      buyerA.kill(); // mid-sale: up to four of its sales in flight, maybe logged, maybe only taken in Redis
      firstFlusher.kill(); // whatever batch it was in: committed or not, offsets committed or not
      try (ChildJvm secondFlusher = ChildJvm.start(StockChildMain.class, flusherArgs)) {
        secondFlusher.awaitLine("READY", STARTED);
        buyerB.awaitLine("DONE", STARTED);
        told.addAll(acks(buyerA));
        told.addAll(acks(buyerB));
        // Units the killed buyer held without logging come back after orphanAfter: sell them here.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
          for (Sale s = sale.decrementIfEnough(ITEM, 1); s.taken(); s = sale.decrementIfEnough(ITEM, 1)) {
            told.add(s.id());
          }
          return stock.quantity(ITEM) == 0;
        });
      }
    }
    Map<String, String> outcomes = stock.outcomes();
    List<String> applied = outcomes.entrySet().stream().filter(e -> e.getValue().equals("APPLIED"))
        .map(Map.Entry::getKey).toList();
    assertThat(applied).as("sales applied: exactly the stock").hasSize(UNITS);
    assertThat(applied).as("every sale a buyer was told about is applied").containsAll(told);
    assertThat(told.size()).as("told about: the stock, less at most the killed buyer's four in-flight sales")
        .isBetween(UNITS - 4, UNITS);
    assertThat(stock.quantity(ITEM)).isZero();
    assertThat(sale.available(ITEM)).isZero();
  }

  private static List<String> acks(ChildJvm buyer) {
    return buyer.linesStartingWith("ACK ").stream().map(l -> l.substring(4)).toList();
  }
}
