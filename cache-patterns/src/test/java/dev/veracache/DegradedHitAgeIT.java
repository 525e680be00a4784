package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While degraded (R5) an L1 hit is served only if the entry it read is younger than {@code degradedL1Ttl}. Found by a
 * hostile review of "an answer is aged from its read": the hit path reads the value ({@code values.getIfPresent}) and
 * then asks the age of whatever the key holds by then ({@code policy().ageOf(key)}, {@code readStarts} by key), not of
 * the entry it read. When another read drops the too-old entry and stores a fresh answer in between, the old value is
 * served with the fresh entry's age: a value the database no longer held, read longer ago than the limit.
 *
 * <p>Deterministic: the held reader is parked inside Caffeine's {@code getIfPresent}, on its first read of the client's
 * ticker, which Caffeine makes right after it took the entry's value.
 */
class DegradedHitAgeIT extends RealServersTest {

  @Test
  void aHitIsAgedByTheEntryItReadNotByAFresherOneStoredMeanwhile() throws Exception {
    products.insert(1, "v1");
    ParkingTicker ticker = new ParkingTicker();
    ParkingTicker.Park park = ticker.parkThread();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader()); // L1 holds v1

    products.update(1, "v2"); // no invalidation can reach this client below
    redisServer.stop();
    try {
      await().atMost(Duration.ofSeconds(10)).until(jvm::degraded);
      ticker.clock.advance(Duration.ofSeconds(2)); // v1 is older than degradedL1Ttl: it must not be served

      CompletableFuture<Product> held = startHeldRead(cache, 1L, loader(), park::onThread);
      assertThat(park.arrived.await(10, TimeUnit.SECONDS)).as("the held read took v1 from L1").isTrue();

      assertThat(cache.get(1L, loader()).name()).as("another read drops the old v1 and loads v2 into L1")
          .isEqualTo("v2");
      assertThat(jvm.degraded()).as("still degraded").isTrue();

      park.release.countDown();
      assertThat(held.get(10, TimeUnit.SECONDS).name())
          .as("a hit on an entry older than degradedL1Ttl is not served while degraded (R5), even when a fresh "
              + "answer replaced it during the hit")
          .isEqualTo("v2");
    } finally {
      park.release.countDown();
      redisServer.start();
    }
  }
}
