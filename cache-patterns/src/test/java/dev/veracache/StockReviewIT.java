package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.StockHooks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of the flash sale: never oversold, each sale applied once, every sale a buyer was told
 * about applied. Races are made deterministic with gates on {@link StockHooks}.
 */
class StockReviewIT extends StockTest {

  /**
   * A buyer stalls between taking the unit in Redis and logging the sale (a GC pause, a starved thread) for longer
   * than orphanAfter. The reaper writes a RELEASE first and gives the unit back; a second buyer takes it. The first
   * buyer then logs its DECREMENT, Kafka acknowledges it, and the buyer is told the sale is taken although the log's
   * order already decided it never will be: two buyers told they bought the one unit.
   */
  @Test
  void aBuyerIsNeverToldOfASaleThatTheReaperAlreadyReleased() throws Exception {
    FlashSaleStock seller = openSale(newInstance(), 1);
    Gate stalled = new Gate();
    FlashSaleStock slowBuyer = buyerStalledAt(stalled);
    CompletableFuture<Sale> slow = CompletableFuture.supplyAsync(() -> slowBuyer.decrementIfEnough(ITEM, 1));
    stalled.awaitArrival(); // the unit is taken in Redis, the DECREMENT not yet sent
    assertThat(seller.available(ITEM)).isZero();

    Veracache flusherClient = newInstance();
    flusher(flusherClient);
    await().atMost(SETTLED).until(() -> seller.available(ITEM) == 1); // the reaper released the stalled unit
    Sale second = seller.decrementIfEnough(ITEM, 1);
    assertThat(second.taken()).isTrue();

    stalled.open();
    Sale first;
    try {
      first = slow.get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(WriteBehindException.class).hasMessageContaining("not confirmed");
      first = null; // the buyer is told its sale may have been given back: not a sale it was told about
    }
    await().atMost(SETTLED).until(() -> stock.outcomes().containsKey(second.id()));

    List<Sale> told = new ArrayList<>();
    for (Sale s : java.util.Arrays.asList(first, second)) {
      if (s != null && s.taken()) {
        told.add(s);
      }
    }
    assertThat(told).as("buyers told they bought the one unit").hasSize(1);
    for (Sale s : told) {
      assertThat(stock.outcomes()).as("a sale a buyer was told about is applied").containsEntry(s.id(), "APPLIED");
    }
  }

  /**
   * Redis loses its last writes (a failover to a replica that had not received them, or a restart from the last
   * snapshot): the counter comes back higher than what was sold. Redis is the only gate on the sale, so buyers are
   * told they bought units that do not exist (a known limit: run Redis so that it does not lose acknowledged writes).
   * The database must still never oversell: its CHECK (quantity >= 0) refuses the excess sales, which are recorded
   * as REFUSED, dead-lettered and counted, and the flusher goes on with the item's other sales instead of retrying
   * the refused batch forever.
   */
  @Test
  void salesRedisForgotAreRefusedByTheDatabaseWhichNeverOversellsAndTheFlusherGoesOn() throws Exception {
    FlashSaleStock sale = openSale(newInstance(), 3);
    StockOptions o = options().build();
    byte[] counterSnapshot = redisCli.dump(o.counterKey(ITEM)); // the snapshot Redis will come back from
    for (int i = 0; i < 3; i++) {
      assertThat(sale.decrementIfEnough(ITEM, 1).taken()).isTrue();
    }
    Veracache flusherClient = newInstance();
    StockFlusher flusher = flusher(flusherClient);
    await().atMost(SETTLED).until(() -> stock.quantity(ITEM) == 0);

    redisCli.restore(o.counterKey(ITEM), counterSnapshot, io.lettuce.core.RestoreArgs.Builder.ttl(0).replace());
    redisCli.del(o.pendingKey(ITEM));
    List<String> soldAgain = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      soldAgain.add(sale.decrementIfEnough(ITEM, 1).id());
    }
    try {
      await().atMost(SETTLED).until(() -> stock.outcomes().keySet().containsAll(soldAgain));
      assertThat(stock.quantity(ITEM)).as("the database never oversells").isZero();
      assertThat(soldAgain).allSatisfy(id -> assertThat(stock.outcomes()).containsEntry(id, "REFUSED"));
      assertThat(counter(flusherClient, "veracache.stock.refused")).isEqualTo(3);
      assertThat(flusher.isRunning()).isTrue();
    } finally {
      flusher.close();
    }
  }

  /**
   * Reopening: open() drops the pending reservations of the earlier sale, but not a DECREMENT of that sale still on
   * its way to the log. A buyer stalled between Redis and the log across a reopen is told its sale is taken; the
   * flusher subtracts it from the reopened stock too, the database's CHECK refuses the batch, and the flusher retries
   * it forever: no later sale of any item on that partition is ever applied.
   */
  @Test
  void aSaleOfTheEarlierOpeningLoggedAfterAReopenDoesNotWedgeTheFlusher() throws Exception {
    FlashSaleStock seller = openSale(newInstance(), 1);
    Gate stalled = new Gate();
    FlashSaleStock slowBuyer = buyerStalledAt(stalled);
    CompletableFuture<Sale> slow = CompletableFuture.supplyAsync(() -> slowBuyer.decrementIfEnough(ITEM, 1));
    stalled.awaitArrival(); // the unit of the first opening is taken, its DECREMENT not yet sent

    stock.put(ITEM, 1); // reopen with one unit: the database says the same quantity first, as open() asks
    seller.open(ITEM, 1);
    Veracache flusherClient = newInstance();
    StockFlusher flusher = flusher(flusherClient);
    Sale second = seller.decrementIfEnough(ITEM, 1);
    assertThat(second.taken()).isTrue();
    stalled.open();
    Sale first = slow.get(20, TimeUnit.SECONDS);

    try {
      await().alias("the sale of the reopened stock is applied (the flusher is not wedged)").atMost(SETTLED)
          .until(() -> stock.outcomes().containsKey(second.id()));
    } finally {
      flusher.close();
    }
    assertThat(stock.outcomes()).as("the sale of the reopened stock is applied (first was told %s)", first.taken())
        .containsEntry(second.id(), "APPLIED");
  }

  /**
   * While the database is down, every acknowledged sale stays pending in Redis past its deadline, and the reaper,
   * which runs between each retry of the stuck batch, writes a RELEASE for every one of them again each round: the
   * log grows by (pending sales x rounds) for as long as the outage lasts, each send waited for on the flusher's
   * thread. One RELEASE per reservation is all the outcome needs.
   */
  @Test
  void theReaperWritesOneReleasePerReservationWhileTheDatabaseIsDown() throws Exception {
    FlashSaleStock sale = openSale(newInstance(), 5);
    Veracache flusherClient = newInstance();
    flusher(flusherClient); // started while the database is up: it checks the applied table
    List<String> sold = new ArrayList<>();
    db.stop();
    try {
      for (int i = 0; i < 2; i++) {
        sold.add(sale.decrementIfEnough(ITEM, 1).id());
      }
      // Past the deadline (2 s), then at least six more retries of the stuck batch (>= 1.5 s of backoff: the reaper,
      // due every 0.5 s, runs at least twice more).
      await().atMost(SETTLED).until(() -> countReleases(sold) >= sold.size());
      double retried = counter(flusherClient, "veracache.writebehind.retried");
      await().atMost(SETTLED).until(() -> counter(flusherClient, "veracache.writebehind.retried") >= retried + 6);
    } finally {
      db.start();
    }
    await().atMost(SETTLED).until(() -> stock.quantity(ITEM) == 3);
    assertThat(countReleases(sold)).as("RELEASE records for the %d pending sales", sold.size())
        .isEqualTo(sold.size());
  }

  private int countReleases(List<String> ids) {
    int n = 0;
    java.util.Properties p = new java.util.Properties();
    p.put("bootstrap.servers", kafka.bootstrapServers());
    p.put("group.id", "count-" + System.nanoTime());
    p.put("auto.offset.reset", "earliest");
    try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(p,
        new org.apache.kafka.common.serialization.StringDeserializer(),
        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      while (System.nanoTime() < deadline) {
        for (var r : consumer.poll(Duration.ofMillis(200))) {
          var op = r.headers().lastHeader("veracache.op");
          var id = r.headers().lastHeader("veracache.id");
          if (op != null && "RELEASE".equals(new String(op.value(), java.nio.charset.StandardCharsets.UTF_8))
              && id != null && ids.contains(new String(id.value(), java.nio.charset.StandardCharsets.UTF_8))) {
            n++;
          }
        }
      }
    }
    return n;
  }

  // ---- Attacks that failed: each pins a property that holds. ----

  /**
   * The flusher down for longer than orphanAfter: every acknowledged sale's DECREMENT is in the log before the RELEASE
   * the reaper writes on restart, so none is given back.
   */
  @Test
  void aFlusherDownLongerThanOrphanAfterGivesNoAcknowledgedSaleBack() throws Exception {
    FlashSaleStock sale = openSale(newInstance(), 4);
    List<String> sold = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      sold.add(sale.decrementIfEnough(ITEM, 1).id());
    }
    StockOptions o = options().build();
    // Every reservation is past its deadline before any flusher runs.
    await().atMost(SETTLED).until(() -> redisCli.hgetall(o.pendingKey(ITEM)).values().stream()
        .map(v -> Long.parseLong(new String(v, java.nio.charset.StandardCharsets.UTF_8).split(":")[1]))
        .allMatch(deadline -> deadline < System.currentTimeMillis() - 100));
    Veracache a = newInstance();
    Veracache b = newInstance();
    flusher(a);
    flusher(b); // two reapers
    await().atMost(SETTLED).until(() -> stock.outcomes().keySet().containsAll(sold)
        && redisCli.hlen(o.pendingKey(ITEM)) == 0);
    assertThat(stock.quantity(ITEM)).isEqualTo(1);
    assertThat(sale.available(ITEM)).as("nothing given back").isEqualTo(1);
    for (String id : sold) {
      assertThat(stock.outcomes()).containsEntry(id, "APPLIED");
    }
  }

  /** A buyer on a client of its own whose first sale parks at {@code gate} after taking the units, before logging. */
  private FlashSaleStock buyerStalledAt(Gate gate) {
    return newInstance().flashSaleStock(options().hooks(new StockHooks() {
      @Override
      public void afterUnitsTaken(String item, String id) {
        gate.hold();
      }
    }).build());
  }
}
