package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of {@link TieredCache#invalidateAll}. A single-key invalidation that Redis misses is queued and
 * retried until it lands (promise 4, {@code DegradedModeIT}); a whole-cache invalidation that Redis misses is only
 * thrown to the caller. Spring's {@code @CacheEvict(allEntries = true)} runs it after the method's transaction
 * committed and Spring's default error handler just rethrows, so nobody calls it again: every value it should have
 * dropped stays in Redis, and is served by every instance, until its TTL (promise 2: no permanent staleness).
 */
class SplitReadReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);

  @Test
  void anInvalidateAllThatTimesOutOnAPausedRedisIsRetriedAfterItResumes() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance();
    TieredCache<Long, Product> a = jvmA.cache(productOptions().build());
    a.get(1L, loader());
    assertThat(rawRecord(1)).startsWith("V:1:");

    products.update(1, "v2"); // a bulk change the application announces with a clear (no CDC for it)
    redisServer.pause();
    try {
      a.invalidateAll(); // Redis does not answer: queued, not thrown (like any invalidation)
      assertThat(a.get(1L, loader()).name()).as("this instance bypasses Redis while the clear is pending")
          .isEqualTo("v2");
    } finally {
      redisServer.resume();
    }

    Veracache jvmB = newInstance();
    TieredCache<Long, Product> b = jvmB.cache(productOptions().build());
    await().atMost(WITHIN).untilAsserted(() ->
        assertThat(b.get(1L, loader()).name()).as("another instance, once Redis is back").isEqualTo("v2"));
  }
}
