package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code L1Store.readStarts} holds at most one read start per L1 entry, and none for a key L1 does not hold (its
 * design comment: "it goes with its entry"). Found by a hostile review of f6e7e36: a degraded hit that finds the key
 * holds another entry by now drops the entry it read with {@code asMap().remove(key, entry)}, which compares by
 * {@code equals}: it removes a fresher entry that is equal but not the same object (the same row read again), and then
 * forgets the read start only if it belongs to the entry it read (identity), so the fresher entry's read start stays
 * behind with no entry. Nothing removes it until the key is stored or invalidated again: one leaked read start per key
 * that ends this way.
 *
 * <p>Deterministic: the held hit is parked inside Caffeine's {@code getIfPresent}, on its first read of the client's
 * ticker, after it took the value (as in {@link DegradedHitAgeIT}).
 */
class OrphanReadStartIT extends RealServersTest {

  @Test
  void aDegradedHitThatLostItsEntryLeavesNoReadStartBehind() throws Exception {
    products.insert(1, "v1");
    DegradedHitAgeIT.HoldingTicker ticker = new DegradedHitAgeIT.HoldingTicker();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader()); // L1 holds v1 (no read start: stored while invalidations could refuse it)

    redisServer.stop();
    try {
      await().atMost(Duration.ofSeconds(10)).until(jvm::degraded);
      ticker.clock.advance(Duration.ofSeconds(2)); // the entry is older than degradedL1Ttl

      CompletableFuture<Product> held = new CompletableFuture<>();
      Thread reader = new Thread(() -> {
        try {
          held.complete(cache.get(1L, id -> {
            throw new IllegalStateException("the database is unreachable for this read");
          }));
        } catch (Throwable t) {
          held.completeExceptionally(t);
        }
      }, "held-l1-hit");
      ticker.holdThread = reader;
      reader.start();
      assertThat(ticker.arrived.await(10, TimeUnit.SECONDS)).as("the held read took v1 from L1").isTrue();

      // Another read drops the old entry and stores the same row again, read while degraded: an equal value, another
      // object, with a read start.
      assertThat(cache.get(1L, loader()).name()).isEqualTo("v1");
      assertThat(readStarts(cache)).as("the fresh entry's read start").containsOnlyKeys("1");

      ticker.release.countDown();
      assertThatThrownBy(() -> held.get(10, TimeUnit.SECONDS)).as("the held read missed, and its load failed")
          .hasRootCauseMessage("the database is unreachable for this read");
      assertThat(jvm.degraded()).as("still degraded").isTrue();

      // Today the held read drops the fresh entry too (equal to the one it read); a read start must not outlive it.
      assertThat(readStarts(cache).keySet())
          .as("no read start is left behind for a key L1 does not hold (it would stay until the key is read again)")
          .allMatch(key -> inL1(cache, Long.parseLong(key)));
    } finally {
      ticker.release.countDown();
      redisServer.start();
    }
  }

  /** L1Store.readStarts of the cache, by reflection (a test seam would be a change of the code under review). */
  @SuppressWarnings("unchecked")
  private static Map<String, ?> readStarts(CacheAside<Long, Product> cache) throws ReflectiveOperationException {
    Field l1Field = DefaultTieredCache.class.getDeclaredField("l1");
    l1Field.setAccessible(true);
    Object l1 = l1Field.get(cache.tiered());
    Field readStartsField = L1Store.class.getDeclaredField("readStarts");
    readStartsField.setAccessible(true);
    return (Map<String, ?>) readStartsField.get(l1);
  }
}
