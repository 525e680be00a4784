package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of the split of the core classes into one concept each, on the embedded servers: bytes that the Java side and the fence scripts
 * read differently.
 *
 * <p>{@code RedisRecord.parse} (Java) takes {@code T:5:not-a-lease} for a tombstone with a lease (any token that is
 * not "0"), while {@code record.lua}'s {@code parse} refuses it (a token and a deadline must be digits) and so
 * {@code acquire.lua} answers "present". {@code RedisEntries.decode} reads that present record as a miss, not as
 * unreadable: nothing is counted or invalidated, the lease is asked again, and the second time the read gives up and
 * loads without caching ("the Redis entry stays unreadable"). The foreign bytes (no TTL) stay for ever: every read of
 * the key that misses L1 bypasses Redis, and no metric says why. The invariant of {@code RedisEntries} ("what cannot
 * be read is never served and never blocks: ... counted, logged, invalidated") is not kept for these bytes.
 */
class RefactorReviewIT extends RealServersTest {

  @Test
  void bytesTheScriptsCannotParseAreReplacedOnReadEvenWhenJavaReadsThemAsATombstone() {
    redisCli.set(redisKey(1), "T:5:not-a-lease".getBytes(StandardCharsets.UTF_8));
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().l1Enabled(false).build());
    AtomicInteger loads = new AtomicInteger();
    CacheLoader<Long, Product> loader = id -> {
      loads.incrementAndGet();
      return new Product(id, "fresh", 6);
    };

    assertThat(cache.get(1L, loader).name()).isEqualTo("fresh");

    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace)).as("the foreign bytes are reported")
        .isEqualTo(1);
    assertThat(rawRecord(1)).as("the foreign bytes are replaced by the loaded value").startsWith("V:6:");
    cache.get(1L, loader);
    assertThat(loads).as("the second read is served by Redis").hasValue(1);
  }
}
