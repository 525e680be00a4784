package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.FlusherHooks;
import dev.veracache.testing.StockHooks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The flash sale on the embedded servers: never oversold, each sale applied once, a dead buyer's units given back. */
class StockIT extends StockTest {

  @Test
  void concurrentBuyersOnSeveralClientsBuyExactlyTheStockAndTheDatabaseEndsAtZero() throws Exception {
    int units = 60;
    FlashSaleStock first = openSale(newInstance(), units);
    List<FlashSaleStock> clients = List.of(first, newInstance().flashSaleStock(options().build()),
        newInstance().flashSaleStock(options().build()));
    Set<String> sold = ConcurrentHashMap.newKeySet();
    CountDownLatch start = new CountDownLatch(1);
    List<CompletableFuture<Void>> buyers = new ArrayList<>();
    for (int b = 0; b < 6; b++) {
      FlashSaleStock client = clients.get(b % clients.size());
      buyers.add(CompletableFuture.runAsync(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        for (Sale sale = client.decrementIfEnough(ITEM, 1); sale.taken(); sale = client.decrementIfEnough(ITEM, 1)) {
          sold.add(sale.id());
        }
      }));
    }
    start.countDown();
    CompletableFuture.allOf(buyers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    assertThat(sold).as("exactly the stock is sold").hasSize(units);
    assertThat(first.available(ITEM)).isZero();
    assertThat(first.decrementIfEnough(ITEM, 1).taken()).isFalse();

    Veracache flusherClient = newInstance();
    flusher(flusherClient, FlusherHooks.NONE);
    await().atMost(SETTLED).until(() -> stock.quantity(ITEM) == 0);
    assertThat(stock.outcomes()).hasSize(units).containsOnlyKeys(sold).allSatisfy((id, outcome) ->
        assertThat(outcome).isEqualTo("APPLIED"));
  }

  /**
   * Regression: with Connector/J's {@code rewriteBatchedStatements=true} a batch answers SUCCESS_NO_INFO for every
   * row, and the flusher took that as "no sale is new": each sale was recorded APPLIED, no stock was subtracted, and
   * nothing was logged (found by the demo app, whose database stayed at the full stock).
   */
  @Test
  void aDriverThatRewritesBatchesStillHasEverySaleSubtractedOnce() throws Exception {
    int units = 12;
    FlashSaleStock sale = openSale(newInstance(), units);
    Set<String> sold = ConcurrentHashMap.newKeySet();
    for (Sale s = sale.decrementIfEnough(ITEM, 1); s.taken(); s = sale.decrementIfEnough(ITEM, 1)) {
      sold.add(s.id());
    }
    assertThat(sold).hasSize(units);
    com.mysql.cj.jdbc.MysqlDataSource rewriting = new com.mysql.cj.jdbc.MysqlDataSource();
    rewriting.setURL(db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "rewriteBatchedStatements=true");
    rewriting.setUser(db.user());
    rewriting.setPassword(db.password());
    newInstance().stockFlusher(options().build(), FlusherOptions.builder("stock-" + namespace)
        .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).build(), rewriting, stock.writer);
    await().atMost(SETTLED).until(() -> stock.outcomes().size() == units);
    assertThat(stock.quantity(ITEM)).as("the database's stock after %s sales of %s units", units, units).isZero();
    assertThat(stock.outcomes()).containsOnlyKeys(sold).allSatisfy((id, outcome) ->
        assertThat(outcome).isEqualTo("APPLIED"));
  }

  @Test
  void aBuyerThatDiesBetweenRedisAndTheLogHasItsUnitsGivenBack() throws Exception {
    FlashSaleStock sale = openSale(newInstance(), 2);
    Veracache dying = newInstance();
    FlashSaleStock dyingBuyer = dying.flashSaleStock(options().hooks(new StockHooks() {
      @Override
      public void afterUnitsTaken(String item, String id) {
        throw new IllegalStateException("the buyer's JVM dies here");
      }
    }).build());
    assertThatThrownBy(() -> dyingBuyer.decrementIfEnough(ITEM, 1)).hasMessageContaining("dies here");
    assertThat(sale.available(ITEM)).as("the unit is reserved").isEqualTo(1);
    String first = sale.decrementIfEnough(ITEM, 1).id();
    assertThat(sale.decrementIfEnough(ITEM, 1).taken()).as("sold out while the dead buyer's unit is held").isFalse();

    Veracache flusherClient = newInstance();
    flusher(flusherClient, FlusherHooks.NONE);
    await().atMost(SETTLED).until(() -> sale.available(ITEM) == 1);
    assertThat(counter(flusherClient, "veracache.stock.released")).isEqualTo(1);
    String second = sale.decrementIfEnough(ITEM, 1).id();
    await().atMost(SETTLED).until(() -> stock.quantity(ITEM) == 0);
    assertThat(stock.outcomes()).containsEntry(first, "APPLIED").containsEntry(second, "APPLIED")
        .containsValue("RELEASED").hasSize(3);
  }

  @Test
  void aFlusherKilledAfterTheDatabaseCommitIsReplayedAndAppliesEachSaleOnce() throws Exception {
    FlashSaleStock sale = openSale(newInstance(), 5);
    for (int i = 0; i < 3; i++) {
      assertThat(sale.decrementIfEnough(ITEM, 1).taken()).isTrue();
    }
    CountDownLatch committed = new CountDownLatch(1);
    Veracache crashing = newInstance();
    StockFlusher first = flusher(crashing, new FlusherHooks() {
      @Override
      public void afterDatabaseCommit(int changes) {
        committed.countDown();
        throw new SimulatedCrash();
      }
    });
    assertThat(committed.await(20, TimeUnit.SECONDS)).isTrue();
    await().atMost(SETTLED).until(() -> !first.isRunning());
    assertThat(stock.quantity(ITEM)).isEqualTo(2);

    Veracache again = newInstance();
    StockFlusher second = flusher(again, FlusherHooks.NONE);
    await().atMost(SETTLED).until(() -> counter(again, "veracache.writebehind.flushed") >= 3);
    await().atMost(SETTLED).until(() -> second.backlog() == 0);
    assertThat(stock.quantity(ITEM)).as("the replay applied nothing twice").isEqualTo(2);
    assertThat(sale.available(ITEM)).isEqualTo(2);
  }

  @Test
  void aSaleThatIsNotOpenOrABadAmountIsRefusedNamingIt() throws Exception {
    FlashSaleStock sale = newInstance().flashSaleStock(options().build());
    assertThatThrownBy(() -> sale.decrementIfEnough("nothing", 1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("item 'nothing' is not open");
    assertThatThrownBy(() -> sale.decrementIfEnough(ITEM, 0)).hasMessageContaining("amount must be >= 1, was 0");
    assertThatThrownBy(() -> sale.decrementIfEnough("a{b}", 1)).hasMessageContaining("item 'a{b}'");
  }

  /** Thrown by a hook to stop the flusher thread dead, as a kill -9 of its JVM would. */
  private static final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;
  }
}
