package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Versions are compared exactly in every script. Lua numbers are doubles: above 2^53 two distinct versions can look
 * equal (Snowflake ids, TSO or HLC timestamps used as versions get there), so a newer invalidation would be taken for a
 * replay, or a newer set for the one already cached.
 */
class VersionComparisonIT extends RealServersTest {

  private static final long TWO_TO_53 = 1L << 53;

  @Test
  void anInvalidationOneAbove2To53RemovesTheValueBelowIt() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, id -> new Product(id, "old", TWO_TO_53));
    assertThat(rawRecord(1)).startsWith("V:" + TWO_TO_53 + ":");

    cache.invalidate(1L, TWO_TO_53 + 1);

    assertThat(rawRecord(1)).isEqualTo("P:" + (TWO_TO_53 + 1) + ":0:0");
    assertThat(cache.get(1L, id -> new Product(id, "new", TWO_TO_53 + 1)).name()).isEqualTo("new");
  }

  @Test
  void aSetOneAbove2To53IsStoredOverTheValueBelowIt() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, id -> new Product(id, "old", TWO_TO_53));

    assertThat(cache.tiered().put(1L, new Product(1, "new", TWO_TO_53 + 1))).isTrue();

    assertThat(rawRecord(1)).startsWith("V:" + (TWO_TO_53 + 1) + ":");
  }

  @Test
  void aSetOneBelowTheCachedVersionNearLongMaxIsRefused() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, id -> new Product(id, "newest", Long.MAX_VALUE));

    assertThat(cache.tiered().put(1L, new Product(1, "older", Long.MAX_VALUE - 1))).isFalse();

    assertThat(rawRecord(1)).startsWith("V:" + Long.MAX_VALUE + ":");
    assertThat(counter(jvm, "veracache.puts", "result", "refused_version")).isEqualTo(1);
  }

  @Test
  void aDeleteAtLongMaxRefusesEveryVersionedFill() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.tiered().invalidateDeleted(1L, Long.MAX_VALUE);
    assertThat(rawRecord(1)).isEqualTo("D:9223372036854775808:0:0");

    assertThat(cache.get(1L, id -> new Product(id, "stale", Long.MAX_VALUE)).name()).isEqualTo("stale");

    assertThat(counter(jvm, "veracache.fills", "result", "refused_version")).isEqualTo(1);
    assertThat(cache.get(1L, id -> null)).isNull();
    assertThat(rawRecord(1)).isEqualTo("N:9223372036854775808:");
  }
}
