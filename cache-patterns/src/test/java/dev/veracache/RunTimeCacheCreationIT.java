package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A cache created while others are in use adds its namespace to the client's tracking without switching tracking
 * off: the other caches keep their L1, and the new namespace's keys are tracked from the moment it is handed out.
 */
class RunTimeCacheCreationIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  @Test
  void aCacheCreatedAtRunTimeLeavesTheOtherCachesL1() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> first = jvm.cacheAside(productOptions().build());
    warmL1(jvm, first, 1L, loader());
    double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");
    double l1Hits = counter(jvm, "veracache.gets", "cache", namespace, "level", "l1", "result", "hit");

    jvm.cacheAside(CacheOptions.<Long, Product>builder(namespace + "-other", ValueCodec.json(Product.class))
        .version(Product::version).build());

    assertThat(inL1(first, 1L)).as("the first cache's L1 entry").isTrue();
    assertThat(jvm.degraded()).isFalse();
    assertThat(counter(jvm, "veracache.l1.invalidations", "source", "recovery")).isEqualTo(recoveries);
    first.get(1L, loader());
    assertThat(counter(jvm, "veracache.gets", "cache", namespace, "level", "l1", "result", "hit"))
        .isEqualTo(l1Hits + 1);
  }

  @Test
  void aCacheCreatedAtRunTimeHearsChangesOfItsKeys() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    jvm.cacheAside(productOptions().build());
    String other = namespace + "-other";
    CacheAside<Long, Product> created = jvm.cacheAside(CacheOptions.<Long, Product>builder(other,
        ValueCodec.json(Product.class)).version(Product::version).build());
    warmL1(jvm, created, 1L, loader());

    redisCli.del(other + ":1");
    await().atMost(WITHIN).until(() -> !inL1(created, 1L));
  }
}
