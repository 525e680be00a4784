package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A hit that runs while the client leaves the degraded state is not served an entry the recovery is about to clear
 * (R5). Found by a hostile review of {@code DefaultTieredCache.fromL1}: it reads the epoch before the lookup and
 * {@code tracker.degraded} only after it. The recovery ({@code InvalidationTracker.updateDegraded}) bumps the epoch,
 * then clears every L1, then sets {@code degraded = false}. A hit that reads the epoch after the bump, takes an entry
 * before the clear removes it, and reads {@code degraded} after it turned false passes every check: the epoch did not
 * move during the read, and neither degraded nor a listener asks for an age check. The entry, older than
 * {@code degradedL1Ttl} and stale (its invalidation was missed while Redis was down), is served after the recovery
 * cleared L1. {@link RecoveryClearedHitIT} covers the hit that read the epoch before the bump.
 *
 * <p>Deterministic: the recovery is parked on its first read of the client's ticker inside {@code L1Store.clear}
 * (Caffeine's {@code invalidateAll} reads it before removing anything), after the epoch moved; the hit is parked
 * inside Caffeine's {@code getIfPresent}, on its first read of the ticker, right after it took the entry's value.
 */
class RecoveryEpochBumpedHitIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);

  @Test
  void aHitThatReadTheEpochAfterTheRecoveryBumpedItIsNotServedTheEntryTheRecoveryClears() throws Exception {
    products.insert(1, "v1");
    ParkingTicker ticker = new ParkingTicker();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).recoveryGrace(Duration.ofMillis(1))
        .ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader()); // L1 holds v1
    await().atMost(WITHIN).until(() -> counter(jvm, "veracache.l1.readmissions", "result", "stored")
        + counter(jvm, "veracache.l1.readmissions", "result", "not_stored") >= 1); // the fill's re-read is done

    // Parks the recovery in its L1 clear (an L1 clear made by leaving the degraded state), once.
    ParkingTicker.Park recovery = ticker.parkWhere(() -> ParkingTicker.onStack(L1Store.class, "clear",
        InvalidationTracker.class, "updateDegraded"));
    ParkingTicker.Park hit = ticker.parkThread();
    redisServer.stop();
    try {
      products.update(1, "v2"); // its invalidation cannot reach this client: Redis is down
      await().atMost(WITHIN).until(jvm::degraded);
      ticker.clock.advance(Duration.ofSeconds(2)); // v1 is older than degradedL1Ttl: it must not be served now
    } finally {
      redisServer.start();
    }
    CompletableFuture<Product> held;
    try {
      // The embedded Redis keeps nothing across a restart: v1 lives on only in this client's L1, and no push will
      // ever drop it (this DEL changes nothing and is not pushed; it only waits until Redis is reachable again).
      await().atMost(WITHIN).ignoreExceptions().until(() -> redisCli.del(redisKey(1)) >= 0);
      // Recovery: the epoch has moved; it is parked in the L1 clear, before v1 is removed, still degraded.
      await().atMost(WITHIN).until(() -> {
        ticker.clock.advance(Duration.ofMillis(10)); // the recovery grace, on the client's clock
        return recovery.arrived.getCount() == 0;
      });
      assertThat(jvm.degraded()).isTrue();

      held = startHeldRead(cache, 1L, loader(), hit::onThread);
      assertThat(hit.arrived.await(10, TimeUnit.SECONDS))
          .as("the held read read the bumped epoch and took v1 from L1").isTrue();
    } finally {
      recovery.release.countDown();
    }
    try {
      await().atMost(WITHIN).until(() -> !jvm.degraded());
      assertThat(inL1(cache, 1L)).as("the recovery cleared L1").isFalse();
    } finally {
      hit.release.countDown();
    }
    assertThat(held.get(10, TimeUnit.SECONDS).name())
        .as("a hit on an entry too old to serve while degraded is not served once the recovery cleared it (R5)")
        .isEqualTo("v2");
  }
}
