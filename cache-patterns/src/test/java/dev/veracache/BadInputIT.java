package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Bad input and bad servers: a clear exception naming the problem, or a counted and logged degrade. */
class BadInputIT extends RealServersTest {

  @Test
  void nullKeysLoadersAndValuesAreRejectedByName() {
    Veracache jvm = newInstance();
    WriteThroughCache<Long, Product> cache = jvm.writeThrough(productOptions().build(), loader(),
        new CacheWriter<>() {
          @Override
          public Product write(Long key, Product value) {
            return value;
          }

          @Override
          public void delete(Long key) {}
        });
    TieredCache<Long, Product> tiered = cache.tiered();
    assertThatThrownBy(() -> tiered.get(null, loader())).isInstanceOf(NullPointerException.class)
        .hasMessage("key must not be null");
    assertThatThrownBy(() -> tiered.get(1L, null)).isInstanceOf(NullPointerException.class)
        .hasMessage("loader must not be null");
    assertThatThrownBy(() -> cache.put(1L, null)).isInstanceOf(NullPointerException.class)
        .hasMessage("value must not be null");
    assertThatThrownBy(() -> tiered.invalidate(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("key must not be null");
    assertThatThrownBy(() -> tiered.invalidate(1L, -5)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("version must be >= 0");
  }

  @Test
  void aValueTheCodecCannotEncodeIsServedButNotCached() {
    Veracache jvm = newInstance();
    ValueCodec<Product> broken = new ValueCodec<>() {
      @Override
      public byte[] encode(Product value) {
        throw new IllegalStateException("cannot encode " + value.name());
      }

      @Override
      public Product decode(byte[] bytes) {
        throw new AssertionError("nothing to decode");
      }
    };
    CacheAside<Long, Product> cache = jvm.cacheAside(
        CacheOptions.<Long, Product>builder(namespace, broken).build());
    assertThat(cache.get(1L, id -> new Product(id, "x", 1)).name()).isEqualTo("x");
    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace)).isEqualTo(1);
    assertThat(rawRecord(1)).as("nothing cached, lease released").isNull();
  }

  @Test
  void anUndecodableRedisEntryIsReplacedByTheLoadersValue() {
    redisCli.set(redisKey(1), "garbage written by someone else".getBytes(StandardCharsets.UTF_8));
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    assertThat(cache.get(1L, id -> new Product(id, "fresh", 4)).name()).isEqualTo("fresh");
    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace)).isEqualTo(1);
    assertThat(rawRecord(1)).startsWith("V:4:");
  }

  @Test
  void aVersionExtractorThatThrowsOnALoadedValueLeavesNoLeaseBehind() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).version(p -> {
          throw new IllegalStateException("no version column in " + p.name());
        }).build());

    assertThat(cache.get(1L, id -> new Product(id, "x", 1)).name()).as("served").isEqualTo("x");

    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace)).isEqualTo(1);
    assertThat(rawRecord(1)).as("nothing cached, lease released").isNull();
  }

  @Test
  void aVersionExtractorThatThrowsAfterTheCommitStillInvalidatesTheOldValue() {
    Veracache jvm = newInstance();
    WriteThroughCache<Long, Product> cache = jvm.writeThrough(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).version(p -> {
          if (p.name().equals("unversionable")) {
            throw new IllegalStateException("no version in " + p.name());
          }
          return p.version();
        }).build(), id -> new Product(id, "old", 1), new CacheWriter<>() {
          @Override
          public Product write(Long key, Product value) {
            return value; // "committed"
          }

          @Override
          public void delete(Long key) {}
        });
    assertThat(cache.get(1L).name()).isEqualTo("old");
    assertThat(rawRecord(1)).startsWith("V:1:");

    assertThatThrownBy(() -> cache.put(1L, new Product(1, "unversionable", 2)))
        .hasMessageContaining("no version in unversionable");

    // An unversioned invalidation over V:1 keeps the floor it knew, kind T (latest change unknown), no lease.
    assertThat(rawRecord(1)).as("the old value is replaced by a tombstone in Redis").isEqualTo("T:1:0:0");
    assertThat(((DefaultTieredCache<Long, Product>) cache.tiered()).inL1(1L)).as("and from L1").isFalse();
  }

  @Test
  void anOversizedValueIsServedButNotCached() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().maxValueBytes(16).build());
    assertThat(cache.get(1L, id -> new Product(id, "a name longer than sixteen bytes", 1)))
        .isEqualTo(new Product(1, "a name longer than sixteen bytes", 1));
    assertThat(counter(jvm, "veracache.fills", "result", "too_large")).isEqualTo(1);
    assertThat(rawRecord(1)).isNull();
  }

  @Test
  void redisOutOfMemoryDegradesReadsAndQueuesInvalidations() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    redisCli.configSet("maxmemory-policy", "noeviction");
    redisCli.configSet("maxmemory", "1");
    try {
      assertThat(cache.get(1L, id -> new Product(id, "x", 1)).name()).isEqualTo("x");
      cache.invalidate(1L, 2);
      assertThat(counter(jvm, "veracache.redis.errors", "reason", "oom")).isGreaterThanOrEqualTo(2);
      assertThat(jvm.pendingInvalidations()).isEqualTo(1);
    } finally {
      redisCli.configSet("maxmemory", "0");
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> jvm.pendingInvalidations() == 0);
    assertThat(rawRecord(1)).isEqualTo("P:2:0:0");
  }

  @Test
  void aReadOnlyRedisDegradesReadsAndQueuesInvalidations() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    redisCli.replicaof("127.0.0.1", 1); // nothing listens there: Redis stays a read-only replica with its data
    try {
      assertThat(cache.get(1L, id -> new Product(id, "x", 1)).name()).isEqualTo("x");
      cache.invalidate(1L, 2);
      assertThat(counter(jvm, "veracache.redis.errors", "reason", "readonly")).isGreaterThanOrEqualTo(2);
      assertThat(jvm.pendingInvalidations()).isEqualTo(1);
    } finally {
      redisCli.replicaofNoOne();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> jvm.pendingInvalidations() == 0);
    assertThat(rawRecord(1)).isEqualTo("P:2:0:0");
  }

  @Test
  void optionsNameTheBadSetting() {
    assertThatThrownBy(() -> CacheOptions.builder("bad:namespace", ValueCodec.utf8()))
        .hasMessageContaining("namespace 'bad:namespace'");
    assertThatThrownBy(() -> CacheOptions.builder("ok", ValueCodec.utf8()).ttl(Duration.ZERO))
        .hasMessage("ttl must be positive, was PT0S");
    assertThatThrownBy(() -> CacheOptions.builder("ok", ValueCodec.utf8())
        .leaseTtl(Duration.ofSeconds(1)).leaseWaitTimeout(Duration.ofSeconds(2)).build())
        .hasMessageContaining("leaseWaitTimeout (PT2S) must not exceed leaseTtl (PT1S)");
    assertThatThrownBy(() -> CacheOptions.builder("ok", ValueCodec.utf8())
        .tombstoneTtl(Duration.ofSeconds(1)).build())
        .hasMessageContaining("tombstoneTtl (PT1S) must be at least leaseTtl (PT10S)");
    assertThatThrownBy(() -> VeracacheOptions.builder("http://not-redis"))
        .hasMessageContaining("redisUri");
    Veracache jvm = newInstance(b -> b.maxL1Ttl(Duration.ofSeconds(30)));
    assertThatThrownBy(() -> jvm.cache(productOptions().l1Ttl(Duration.ofMinutes(1)).build()))
        .hasMessageContaining("l1Ttl (PT1M) exceeds the client's maxL1Ttl (PT30S)");
    assertThatThrownBy(() -> jvm.writeThrough(CacheOptions.<Long, String>builder("w", ValueCodec.utf8()).build(),
        id -> "x", null)).hasMessageContaining("write-through needs versioned values");
  }

  @Test
  void anUnreachableRedisAtStartNamesTheEndpointButNotThePassword() {
    assertThatThrownBy(() -> Veracache.create(VeracacheOptions.builder("redis://:s3cret@127.0.0.1:1")
        .commandTimeout(Duration.ofMillis(200)).build()))
        .isInstanceOf(VeracacheException.class)
        .hasMessageContaining("127.0.0.1:1")
        .hasMessageNotContaining("s3cret");
  }
}
