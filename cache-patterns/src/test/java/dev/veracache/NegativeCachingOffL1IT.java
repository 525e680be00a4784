package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code negativeCaching(false)} means "not found" is never cached, at any level. Found by a hostile review of "a
 * refused L1 answer writes nothing": a read that bypasses Redis ({@code Misses.degradedLoad}) hands the loader's null to
 * {@code L1Store.complete}, which stores it in the "not found" map whatever the cache's options say; so while degraded
 * a row inserted right after a miss is served as absent from L1 (for up to {@code degradedL1Ttl}, and while the CDC
 * listener is untrusted for up to its staleness bound), although the application asked that no miss be remembered.
 */
class NegativeCachingOffL1IT extends RealServersTest {

  @Test
  void aNotFoundIsNotKeptInL1WhenNegativeCachingIsOff() throws Exception {
    FakeTicker clock = new FakeTicker(); // never advanced: the "not found" stays younger than degradedL1Ttl
    Veracache jvm = newInstance(b -> b.ticker(clock));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions()
        .negativeCaching(false, Duration.ofSeconds(30)).build());

    redisServer.stop();
    try {
      await().atMost(Duration.ofSeconds(10)).until(jvm::degraded);
      assertThat(cache.get(1L, loader())).as("no row 1 yet").isNull();

      products.insert(1, "v1");
      assertThat(cache.get(1L, loader())).as("negative caching is off: the inserted row, not a remembered miss")
          .isNotNull();
    } finally {
      redisServer.start();
    }
  }
}
