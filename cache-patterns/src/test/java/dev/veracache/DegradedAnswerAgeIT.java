package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While degraded (R5: invalidations cannot arrive) L1 serves an entry for at most {@code degradedL1Ttl}; that age must
 * count from when the entry's answer was read, not from when L1 stored it. Found by a hostile review of "a refused L1
 * answer writes nothing": an accepted answer restarts the entry's age at the store, so an answer read long before (a
 * slow loader while degraded; no invalidation can refuse its ticket) is served as young for a whole
 * {@code degradedL1Ttl} more, although the database changed right after it was read.
 */
class DegradedAnswerAgeIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  @Test
  void anAnswerReadLongerAgoThanDegradedL1TtlIsNotServedFromL1WhileDegraded() throws Exception {
    products.insert(1, "v1");
    FakeTicker clock = new FakeTicker();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).ticker(clock));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());

    CountDownLatch readTheRow = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CacheLoader<Long, Product> slowLoader = id -> {
      Product row = products.find(id);
      readTheRow.countDown();
      if (!release.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("never released");
      }
      return row;
    };

    redisServer.stop();
    try {
      await().atMost(WITHIN).until(jvm::degraded);
      CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> cache.get(1L, slowLoader));
      assertThat(readTheRow.await(10, TimeUnit.SECONDS)).as("the degraded load read v1").isTrue();

      products.update(1, "v2"); // no invalidation can reach this client: it is degraded
      clock.advance(Duration.ofSeconds(3)); // the load's read of v1 is now older than degradedL1Ttl
      release.countDown();
      assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).as("the slow read itself answers what it read")
          .isEqualTo("v1");
      assertThat(jvm.degraded()).as("still degraded: the slow read's ticket was not refused by an epoch change")
          .isTrue();

      assertThat(cache.get(1L, loader()).name())
          .as("an answer read longer ago than degradedL1Ttl is not served from L1 while degraded (R5)")
          .isEqualTo("v2");
    } finally {
      release.countDown();
      redisServer.start();
    }
  }
}
