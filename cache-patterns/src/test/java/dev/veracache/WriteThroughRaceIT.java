package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.baseline.NaiveCacheAside;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Race R4 (two writers' sets land out of commit order) and R12 (the tombstone is forgotten before a late set
 * arrives). The first writer is parked between its commit and its cache set.
 */
class WriteThroughRaceIT extends RealServersTest {

  private final CacheWriter<Long, Product> writer = productWriter();

  /**
   * The interleaving every race here runs through: writer A commits and is parked at the hook between its commit and
   * its cache set ({@link CacheHooks#beforeVersionedSet}); {@code meanwhile} runs (writer B's write or delete); then
   * A's set is let go and lands last. Returns what A committed.
   */
  private static Product whileASetIsParked(Gate beforeSet, Callable<Product> writeOfA, Callable<?> meanwhile)
      throws Exception {
    CompletableFuture<Product> slowWrite = CompletableFuture.supplyAsync(() -> {
      try {
        return writeOfA.call();
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });
    beforeSet.awaitArrival();
    meanwhile.call();
    beforeSet.open();
    return slowWrite.get(10, TimeUnit.SECONDS);
  }

  /**
   * The textbook write-through that {@link WriteThroughCache} is measured against: commit, then SET the committed value
   * unversioned (the DEL of a delete likewise), with the same hook between commit and set as Veracache's.
   */
  private final class NaiveWriteThrough implements AutoCloseable {
    private final NaiveCacheAside<Product> cache;
    private final CacheHooks hooks;

    NaiveWriteThrough(CacheHooks hooks) {
      this.hooks = hooks;
      this.cache = new NaiveCacheAside<>(redisServer.uri(), namespace, ValueCodec.json(Product.class),
          Duration.ofMinutes(10), hooks);
    }

    Product put(long id, String name) throws Exception {
      Product committed = writer.write(id, new Product(id, name, 0));
      hooks.beforeVersionedSet(redisKey(id), committed.version());
      cache.set(Long.toString(id), committed);
      return committed;
    }

    void delete(long id) throws Exception {
      writer.delete(id);
      cache.invalidate(Long.toString(id));
    }

    Product get(long id) throws Exception {
      return cache.get(Long.toString(id), key -> products.find(Long.parseLong(key)));
    }

    @Override
    public void close() {
      cache.close();
    }
  }

  @Test
  void naiveWriteThroughLeavesTheOlderVersionCached() throws Exception {
    products.insert(1, "v1");
    Gate beforeSet = new Gate();
    try (NaiveWriteThrough writerA = new NaiveWriteThrough(beforeSet.beforeVersionedSet());
         NaiveWriteThrough writerB = new NaiveWriteThrough(CacheHooks.NONE)) {
      writerB.get(1L); // v1 cached

      Product v2 = whileASetIsParked(beforeSet, () -> writerA.put(1L, "v2"), () -> writerB.put(1L, "v3"));

      assertThat(v2.version()).isEqualTo(2);
      assertThat(products.find(1)).as("database").extracting(Product::name, Product::version)
          .containsExactly("v3", 3L);
      assertThat(writerB.get(1L)).as("naive: A's older set landed last and is served").isEqualTo(v2);
      assertThat(writerA.get(1L)).isEqualTo(v2);
    }
  }

  @Test
  void versionedSetOlderThanTheCachedVersionIsRefused() throws Exception {
    products.insert(1, "v1");
    Gate beforeSet = new Gate();
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    WriteThroughCache<Long, Product> writerA =
        jvmA.writeThrough(productOptions().hooks(beforeSet.beforeVersionedSet()).build(), loader(), writer);
    WriteThroughCache<Long, Product> writerB = jvmB.writeThrough(productOptions().build(), loader(), writer);
    writerB.get(1L); // v1 cached: the version in Redis is what a later set must beat

    Product v2 = whileASetIsParked(beforeSet, () -> writerA.put(1L, new Product(1, "v2", 0)), () -> {
      writerB.put(1L, new Product(1, "v3", 0));
      assertThat(rawRecord(1)).startsWith("V:3:");
      return null;
    });

    assertThat(v2.version()).isEqualTo(2);
    Product v3 = products.find(1);
    assertThat(v3).as("database").extracting(Product::name, Product::version).containsExactly("v3", 3L);
    assertThat(counter(jvmA, "veracache.puts", "result", "refused_version")).isEqualTo(1);
    assertThat(rawRecord(1)).startsWith("V:3:");
    assertThat(writerA.get(1L)).isEqualTo(v3);
    assertThat(writerB.get(1L)).isEqualTo(v3);
  }

  // R13: a delete races a write-through set. A commits v2 and stalls before its set; B deletes the row; A's set lands.

  @Test
  void naiveWriteThroughBringsADeletedRowBack() throws Exception {
    products.insert(1, "v1");
    Gate beforeSet = new Gate();
    try (NaiveWriteThrough writerA = new NaiveWriteThrough(beforeSet.beforeVersionedSet());
         NaiveWriteThrough writerB = new NaiveWriteThrough(CacheHooks.NONE)) {
      writerB.get(1L); // v1 cached

      Product v2 = whileASetIsParked(beforeSet, () -> writerA.put(1L, "v2"), () -> {
        writerB.delete(1L);
        return null;
      });

      assertThat(products.find(1)).as("database").isNull();
      assertThat(writerB.get(1L)).as("naive: a deleted row is served").isEqualTo(v2);
    }
  }

  @Test
  void aSetThatStalledBeforeAnUnversionedDeleteDoesNotBringTheRowBack() throws Exception {
    assertThat(raceSetAgainstDelete((cache, deleted) -> cache.invalidate(1L))).isNull();
  }

  @Test
  void aSetThatStalledBeforeAVersionedDeleteDoesNotBringTheRowBack() throws Exception {
    assertThat(raceSetAgainstDelete((cache, deleted) -> cache.invalidateDeleted(1L, deleted.version()))).isNull();
    assertThat(rawRecord(1)).as("a \"not found\" cached above the deleted version").isEqualTo("N:3:");
  }

  private interface DeleteInvalidation {
    void invalidate(TieredCache<Long, Product> cache, Product deletedRow);
  }

  /** Returns what a reader gets after the race: the deleted row must read as absent. */
  private Product raceSetAgainstDelete(DeleteInvalidation invalidation) throws Exception {
    products.insert(1, "v1");
    Gate beforeSet = new Gate();
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    WriteThroughCache<Long, Product> writerA =
        jvmA.writeThrough(productOptions().hooks(beforeSet.beforeVersionedSet()).build(), loader(), writer);
    WriteThroughCache<Long, Product> writerB = jvmB.writeThrough(productOptions().build(), loader(), writer);
    writerB.get(1L); // v1 cached

    Product v2 = whileASetIsParked(beforeSet, () -> writerA.put(1L, new Product(1, "v2", 0)), () -> {
      Product deleted = products.find(1);
      products.delete(1);
      invalidation.invalidate(writerB.tiered(), deleted);
      return null;
    });
    assertThat(v2.version()).isEqualTo(2);

    assertThat(products.find(1)).as("database").isNull();
    assertThat(writerB.get(1L)).as("B after the race").isNull();
    return writerA.get(1L);
  }

  // R14: the tombstone that should refuse a late set is gone (expired, evicted, flushed) when the set arrives.

  @Test
  void aLateSetIsNotCachedWhenTheTombstoneExpiredBeforeIt() throws Exception {
    Product cached = raceLateSetAgainstLostTombstone(Duration.ofMillis(100), "no_floor", () ->
        await().atMost(Duration.ofSeconds(5)).until(() -> rawRecord(1) == null));
    assertThat(cached.name()).isEqualTo("v3");
  }

  @Test
  void aLateSetIsNotCachedWhenTheTombstoneWasEvicted() throws Exception {
    Product cached = raceLateSetAgainstLostTombstone(Duration.ofSeconds(60), "no_floor",
        () -> redisCli.del(redisKey(1)));
    assertThat(cached.name()).isEqualTo("v3");
  }

  @Test
  void aLateSetIsNotCachedAfterRedisWasFlushed() throws Exception {
    Product cached = raceLateSetAgainstLostTombstone(Duration.ofSeconds(60), "no_floor", () -> redisCli.flushall());
    assertThat(cached.name()).isEqualTo("v3");
  }

  @Test
  void tombstoneThatOutlivesTheLateSetRefusesIt() throws Exception {
    Product cached = raceLateSetAgainstLostTombstone(Duration.ofSeconds(60), "refused_version", () -> {});
    assertThat(cached.name()).isEqualTo("v3");
  }

  /**
   * A's versioned set of v2 stalls; B commits v3 and invalidates with version 3; the tombstone is lost (or not); A's
   * set arrives, and must end as {@code putResult} (the {@code veracache.puts} result: "no_floor" when the key held
   * nothing to prove the set newest, "refused_version" under a newer tombstone), never stored. Returns what a reader
   * gets then.
   */
  private Product raceLateSetAgainstLostTombstone(Duration tombstoneTtl, String putResult, Runnable loseTheTombstone)
      throws Exception {
    products.insert(1, "v1");
    Gate beforeSet = new Gate();
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheOptions.Builder<Long, Product> options = productOptions()
        .leaseTtl(Duration.ofMillis(100)).leaseWaitTimeout(Duration.ofMillis(100)).tombstoneTtl(tombstoneTtl);
    WriteThroughCache<Long, Product> writerA =
        jvmA.writeThrough(options.hooks(beforeSet.beforeVersionedSet()).build(), loader(), writer);
    CacheAside<Long, Product> cacheB = jvmB.cacheAside(productOptions()
        .leaseTtl(Duration.ofMillis(100)).leaseWaitTimeout(Duration.ofMillis(100)).tombstoneTtl(tombstoneTtl).build());
    cacheB.get(1L, loader()); // v1 cached

    whileASetIsParked(beforeSet, () -> writerA.put(1L, new Product(1, "v2", 0)), () -> {
      Product v3 = products.update(1, "v3");
      cacheB.invalidate(1L, v3.version());
      assertThat(rawRecord(1)).startsWith("P:3:");
      loseTheTombstone.run();
      return null;
    });
    assertThat(counter(jvmA, "veracache.puts", "result", putResult)).as("A's late set: " + putResult).isEqualTo(1);
    assertThat(counter(jvmA, "veracache.puts", "result", "stored")).as("A's late set stored").isZero();
    return cacheB.get(1L, loader());
  }
}
