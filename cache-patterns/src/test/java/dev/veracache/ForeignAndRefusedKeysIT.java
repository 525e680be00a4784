package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Keys Veracache cannot use as they are: a key of another type under a cache's namespace, and a key Redis refuses to
 * this client for good (an ACL). Neither may stall anything else or leave a stale value served.
 */
class ForeignAndRefusedKeysIT extends RealServersTest {

  @Test
  void aKeyOfAnotherTypeUnderTheNamespaceIsReplacedOnRead() {
    redisCli.hset(redisKey(1), "field", "written by someone else".getBytes(StandardCharsets.UTF_8));
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());

    assertThat(cache.get(1L, id -> new Product(id, "fresh", 4)).name()).isEqualTo("fresh");

    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace)).isEqualTo(1);
    assertThat(rawRecord(1)).startsWith("V:4:");
  }

  @Test
  void aKeyOfAnotherTypeIsInvalidatedLikeAnyOther() {
    redisCli.hset(redisKey(1), "field", "x".getBytes(StandardCharsets.UTF_8));
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());

    cache.invalidate(1L, 3);

    assertThat(jvm.pendingInvalidations()).isZero();
    assertThat(rawRecord(1)).isEqualTo("P:3:0:0");
  }

  @Test
  void aKeyOfAnotherTypeDoesNotStopTheListenersBatch() {
    redisCli.lpush(redisKey(2), "x".getBytes(StandardCharsets.UTF_8));
    try (RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.builder(redisServer.uri()).build())) {
      invalidator.invalidate(List.of(
          new RedisInvalidator.KeyInvalidation(namespace, "1", 5, 60_000),
          new RedisInvalidator.KeyInvalidation(namespace, "2", 5, 60_000),
          new RedisInvalidator.KeyInvalidation(namespace, "3", 5, true, 60_000)));
    }
    assertThat(rawRecord(1)).isEqualTo("P:5:0:0");
    assertThat(rawRecord(2)).isEqualTo("P:5:0:0");
    assertThat(rawRecord(3)).as("deleted at 5: nothing at or below 5 may be stored").isEqualTo("D:6:0:0");
  }

  @Test
  void oneKeyRedisRefusesForGoodDoesNotHoldBackTheRetryOfTheOthers() {
    long[] pair = refusedKeyRetriedBeforeAGoodOne();
    long refused = pair[0];
    long good = pair[1];
    String user = "limited_" + namespace;
    // This client may write the good key and its heartbeat, not the refused key: NOPERM on every try.
    redisCli.aclSetuser(user, io.lettuce.core.AclSetuserArgs.Builder.on().addPassword("secret")
        .keyPattern(redisKey(good)).keyPattern("veracache:*").allCommands());
    try {
      Veracache jvm = newInstance(redisServer.uri().replace("redis://", "redis://" + user + ":secret@"),
          b -> b.invalidationRetryInterval(Duration.ofMillis(20)));
      CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
      cache.invalidate(refused, 2);
      assertThat(jvm.pendingInvalidations()).isEqualTo(1);
      redisCli.configSet("maxmemory-policy", "noeviction");
      redisCli.configSet("maxmemory", "1"); // now Redis refuses the good key too (OOM), for a while
      try {
        cache.invalidate(good, 2);
        assertThat(jvm.pendingInvalidations()).isEqualTo(2);
      } finally {
        redisCli.configSet("maxmemory", "0");
      }

      await().atMost(Duration.ofSeconds(10)).until(() -> jvm.pendingInvalidations() == 1);
      assertThat(rawRecord(good)).isEqualTo("P:2:0:0");
      await().atMost(Duration.ofSeconds(10))
          .until(() -> counter(jvm, "veracache.invalidations", "result", "refused") == 1);

      AtomicInteger loads = new AtomicInteger();
      CacheLoader<Long, Product> loader = id -> new Product(id, "row", 3 + loads.incrementAndGet());
      cache.get(refused, loader);
      cache.get(refused, loader);
      assertThat(loads).as("reads of the refused key bypass Redis and L1").hasValue(2);
    } finally {
      redisCli.aclDeluser(user);
    }
  }

  /**
   * Two keys whose pending entries the retry loop meets refused one first: ConcurrentHashMap (default capacity 16)
   * iterates by bucket index, so the old loop, which gave up at the first failure, would never reach the good key.
   */
  private long[] refusedKeyRetriedBeforeAGoodOne() {
    for (long good = 1; good < 1000; good++) {
      for (long refused = 1; refused < 1000; refused++) {
        if (bucket(redisKey(refused)) < bucket(redisKey(good))) {
          return new long[] {refused, good};
        }
      }
    }
    throw new IllegalStateException("no two keys in different buckets");
  }

  private static int bucket(String key) {
    int h = key.hashCode();
    return (h ^ (h >>> 16)) & 0x7fffffff & 15;
  }
}
