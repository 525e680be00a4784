package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.baseline.NaiveCacheAside;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Race R1 (stale fill) and R10 (stale "not found"): a reader misses and reads the old row; a writer commits and
 * invalidates; then the reader's fill arrives. The reader is parked on a hook between its load and its fill, so the
 * interleaving is exact, not hoped for. Two clients stand for two JVMs: the reader's and the writer's.
 */
class StaleFillRaceIT extends RealServersTest {

  @Test
  void naiveCacheAsideKeepsTheOldRowAfterTheWritersDelete() throws Exception {
    products.insert(1, "v1");
    Gate beforeFill = new Gate();
    CacheHooks hooks = beforeFill.afterLoad();
    try (NaiveCacheAside<Product> reader = new NaiveCacheAside<>(redisServer.uri(), namespace,
        ValueCodec.json(Product.class), Duration.ofMinutes(10), hooks);
         NaiveCacheAside<Product> writer = new NaiveCacheAside<>(redisServer.uri(), namespace,
             ValueCodec.json(Product.class), Duration.ofMinutes(10), CacheHooks.NONE)) {
      CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> call(() ->
          reader.get("1", products::find)));
      beforeFill.awaitArrival();
      products.update(1, "v2");
      writer.invalidate("1");
      beforeFill.open();
      slowRead.get(10, TimeUnit.SECONDS);

      assertThat(writer.get("1", products::find).name()).as("naive cache after the race").isEqualTo("v1");
      assertThat(products.find(1).name()).isEqualTo("v2");
    }
  }

  @Test
  void fencedFillIsRefusedWhenAnInvalidationCancelledItsLease() throws Exception {
    products.insert(1, "v1");
    Gate beforeFill = new Gate();
    Veracache readerJvm = newInstance();
    Veracache writerJvm = newInstance();
    CacheAside<Long, Product> reader =
        readerJvm.cacheAside(productOptions().hooks(beforeFill.afterLoad()).build());
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());

    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> reader.get(1L, loader()));
    beforeFill.awaitArrival();
    products.update(1, "v2");
    writer.invalidate(1L); // unversioned: only the lease fences this fill
    beforeFill.open();
    assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).as("the slow reader's own answer").isEqualTo("v1");

    assertThat(counter(readerJvm, "veracache.fills", "result", "refused_lease")).isEqualTo(1);
    assertThat(reader.get(1L, loader()).name()).isEqualTo("v2");
    assertThat(writer.get(1L, loader()).name()).isEqualTo("v2");
    assertThat(rawRecord(1)).startsWith("V:2:");
  }

  @Test
  void fillFromALaggingReplicaOlderThanTheTombstoneIsRefusedByTheVersionFence() throws Exception {
    // The lease alone cannot catch this one: the reader takes its lease after the invalidation, but its loader reads a
    // replica that has not applied the update yet. Only the tombstone's version can refuse the fill.
    Product v1 = products.insert(1, "v1");
    Veracache readerJvm = newInstance();
    Veracache writerJvm = newInstance();
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());

    Product v2 = products.update(1, "v2");
    writer.invalidate(1L, v2.version());
    assertThat(rawRecord(1)).startsWith("P:2:0:");
    CacheLoader<Long, Product> laggingReplica = id -> v1;
    assertThat(reader.get(1L, laggingReplica)).isEqualTo(v1);

    assertThat(counter(readerJvm, "veracache.fills", "result", "refused_version")).isEqualTo(1);
    assertThat(rawRecord(1)).startsWith("P:2:");
    assertThat(reader.get(1L, loader())).isEqualTo(v2);
  }

  @Test
  void naiveNegativeCacheKeepsNotFoundAfterTheInsert() throws Exception {
    Gate beforeFill = new Gate();
    CacheHooks hooks = beforeFill.afterLoad();
    try (NaiveCacheAside<Product> reader = new NaiveCacheAside<>(redisServer.uri(), namespace,
        ValueCodec.json(Product.class), Duration.ofMinutes(10), hooks, true);
         NaiveCacheAside<Product> writer = new NaiveCacheAside<>(redisServer.uri(), namespace,
             ValueCodec.json(Product.class), Duration.ofMinutes(10), CacheHooks.NONE, true)) {
      CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> call(() ->
          reader.get("7", products::find)));
      beforeFill.awaitArrival();
      products.insert(7, "new");
      writer.invalidate("7");
      beforeFill.open();
      assertThat(slowRead.get(10, TimeUnit.SECONDS)).isNull();

      assertThat(writer.get("7", products::find)).as("naive: the row exists but the cache says not found").isNull();
    }
  }

  @Test
  void fencedNegativeFillIsRefusedWhenTheRowWasInsertedMeanwhile() throws Exception {
    Gate beforeFill = new Gate();
    Veracache readerJvm = newInstance();
    Veracache writerJvm = newInstance();
    CacheAside<Long, Product> reader =
        readerJvm.cacheAside(productOptions().hooks(beforeFill.afterLoad()).build());
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());

    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> reader.get(7L, loader()));
    beforeFill.awaitArrival();
    Product inserted = products.insert(7, "new");
    writer.invalidate(7L, inserted.version());
    beforeFill.open();
    assertThat(slowRead.get(10, TimeUnit.SECONDS)).isNull();

    assertThat(reader.get(7L, loader())).isEqualTo(inserted);
    assertThat(writer.get(7L, loader())).isEqualTo(inserted);
  }

  @Test
  void notFoundFromALaggingReplicaIsRefusedAfterTheInsertsInvalidation() throws Exception {
    // The reader takes its lease after the insert was invalidated, but reads a replica that has not seen the insert.
    Veracache readerJvm = newInstance();
    Veracache writerJvm = newInstance();
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());

    Product inserted = products.insert(7, "new");
    writer.invalidate(7L, inserted.version());
    CacheLoader<Long, Product> laggingReplica = id -> null;
    assertThat(reader.get(7L, laggingReplica)).as("the replica's own answer").isNull();

    assertThat(counter(readerJvm, "veracache.fills", "result", "refused_version")).isEqualTo(1);
    assertThat(rawRecord(7)).startsWith("P:1:");
    assertThat(reader.get(7L, loader())).isEqualTo(inserted);
    assertThat(writer.get(7L, loader())).isEqualTo(inserted);
  }

  @Test
  void notFoundIsCachedAndDroppedByTheInsertsInvalidation() throws Exception {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    assertThat(cache.get(9L, loader())).isNull();
    assertThat(rawRecord(9)).isEqualTo("N:-1:");
    CacheLoader<Long, Product> mustNotBeCalled = id -> {
      throw new AssertionError("negative entry not served");
    };
    assertThat(cache.get(9L, mustNotBeCalled)).isNull();

    Product inserted = products.insert(9, "now here");
    cache.invalidate(9L, inserted.version());
    assertThat(cache.get(9L, loader())).isEqualTo(inserted);
  }

  interface ThrowingSupplier<T> {
    T get() throws Exception;
  }

  static <T> T call(ThrowingSupplier<T> supplier) {
    try {
      return supplier.get();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }
}
