package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A hit that read its entry while the client was degraded is held to the degraded limit (R5), even when the client
 * leaves the degraded state before the hit decides. Found by a hostile review of the L1 hit path: {@code get} reads the
 * value first ({@code l1Values.getIfPresent}) and only then reads {@code tracker.degraded} (and, in
 * {@code maxL1AgeNanos}, again): a hit that took an entry older than {@code degradedL1Ttl} while degraded, and reads
 * {@code degraded == false} after the recovery cleared L1 ("whatever was missed meanwhile is gone"), serves the entry
 * with no age check at all: a value whose invalidation was missed, served after the clear that was to drop it.
 *
 * <p>Deterministic: the hit is parked inside Caffeine's {@code getIfPresent}, on its first read of the client's ticker,
 * right after it took the value (as in {@link DegradedHitAgeIT}).
 */
class RecoveryClearedHitIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);

  @Test
  void aHitThatReadItsEntryWhileDegradedIsNotServedAfterTheRecoveryClearedIt() throws Exception {
    products.insert(1, "v1");
    ParkingTicker ticker = new ParkingTicker();
    ParkingTicker.Park park = ticker.parkThread();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).recoveryGrace(Duration.ofMillis(1)).ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader()); // L1 holds v1

    CompletableFuture<Product> held;
    redisServer.stop();
    try {
      products.update(1, "v2"); // its invalidation cannot reach this client: Redis is down
      await().atMost(WITHIN).until(jvm::degraded);
      ticker.clock.advance(Duration.ofSeconds(2)); // v1 is older than degradedL1Ttl: it must not be served now

      held = startHeldRead(cache, 1L, loader(), park::onThread);
      assertThat(park.arrived.await(10, TimeUnit.SECONDS)).as("the held read took v1 from L1, degraded").isTrue();
    } finally {
      redisServer.start();
    }
    try {
      // Another instance's invalidation of the update lands in Redis once it is back (its queued retry); this client
      // missed the push while it was disconnected: only the recovery's clear of L1 protects it.
      await().atMost(WITHIN).ignoreExceptions().until(() -> redisCli.del(redisKey(1)) >= 0);
      // Recovery: the epoch moves, every L1 is cleared (v1 goes), then degraded is false.
      await().atMost(WITHIN).until(() -> {
        ticker.clock.advance(Duration.ofMillis(10)); // the recovery grace, on the client's clock (v1 stays within l1Ttl)
        return !jvm.degraded();
      });
      assertThat(inL1(cache, 1L)).as("the recovery cleared L1").isFalse();
    } finally {
      park.release.countDown();
    }
    assertThat(held.get(10, TimeUnit.SECONDS).name())
        .as("a hit on an entry too old to serve while degraded is not served once the recovery cleared it (R5)")
        .isEqualTo("v2");
  }
}
