package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Refresh-ahead ({@code CacheOptions.Builder.refreshAfterWrite}): a read of a value older than the setting is served at
 * once and renews the key in the background, by proof. A key is made "old" by shortening its TTL in Redis (the age is
 * {@code ttl - PTTL}), never by sleeping; races are held at {@link CacheHooks#afterRefreshLoad}; a refresh's end is
 * awaited on its counter ({@code veracache.refreshes}), bounded, so a missing refresh fails instead of hanging. L1 is
 * off so that every read meets Redis.
 */
class RefreshAheadIT extends RealServersTest {

  private static final Duration TTL = Duration.ofMinutes(10);
  private static final Duration REFRESH_AFTER = Duration.ofMinutes(1);
  /** A remaining life that makes a value 5 minutes old by {@code ttl - PTTL}. */
  private static final long OLD_PTTL = Duration.ofMinutes(5).toMillis();

  /** Loads from the table and records on which thread each load ran. */
  private final List<String> loadThreads = new CopyOnWriteArrayList<>();

  private CacheLoader<Long, Product> countingLoader() {
    return id -> {
      loadThreads.add(Thread.currentThread().getName());
      return products.find(id);
    };
  }

  private CacheOptions.Builder<Long, Product> versioned(CacheHooks hooks) {
    return productOptions().ttl(TTL).ttlJitter(0).refreshAfterWrite(REFRESH_AFTER).l1Enabled(false).hooks(hooks);
  }

  private CacheOptions.Builder<Long, Product> unversioned(CacheHooks hooks) {
    return CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)).ttl(TTL).ttlJitter(0)
        .refreshAfterWrite(REFRESH_AFTER).l1Enabled(false).hooks(hooks);
  }

  private static CacheHooks holdRefreshAt(Gate gate) {
    return new CacheHooks() {
      @Override
      public void afterRefreshLoad(String redisKey) {
        gate.hold();
      }
    };
  }

  /**
   * A client whose Redis calls may take up to 5 s: a read that timed out on a loaded machine would bypass Redis and
   * queue no refresh, which is not what these tests are about.
   */
  private Veracache client() {
    return newInstance(b -> b.commandTimeout(Duration.ofSeconds(5)));
  }

  private void makeOld(long id) {
    assertThat(redisCli.pexpire(redisKey(id), OLD_PTTL)).isTrue();
  }

  private double refreshes(Veracache jvm, String result) {
    return counter(jvm, "veracache.refreshes", "result", result);
  }

  /** Waits (bounded) until the client counted {@code n} refreshes with one of these results. */
  private void awaitRefreshes(Veracache jvm, String result, int n, String... orResults) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      double counted = refreshes(jvm, result);
      for (String other : orResults) {
        counted += refreshes(jvm, other);
      }
      if (counted >= n) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("expected " + n + " refreshes{result=" + result + " " + String.join(" ", orResults)
            + "}, counted " + counted);
      }
      Thread.sleep(5);
    }
  }

  private long backgroundLoads() {
    return loadThreads.stream().filter(name -> name.startsWith("veracache-refresh-")).count();
  }

  @Test
  void aHotKeyReadPastRefreshAfterWriteIsRenewedInTheBackgroundWithoutAMiss() throws Exception {
    Product v1 = products.insert(1, "v1");
    Veracache jvm = client();
    CacheAside<Long, Product> cache = jvm.cacheAside(versioned(CacheHooks.NONE).build());
    assertThat(cache.get(1L, countingLoader())).isEqualTo(v1);
    String filled = rawRecord(1);
    assertThat(cache.get(1L, countingLoader())).as("a young value: no refresh").isEqualTo(v1);
    assertThat(loadThreads).hasSize(1);

    makeOld(1);
    assertThat(cache.get(1L, countingLoader())).as("served at once from Redis").isEqualTo(v1);
    awaitRefreshes(jvm, "extended", 1);

    assertThat(loadThreads).as("the loader ran once more, on a refresh thread").hasSize(2);
    assertThat(loadThreads.get(1)).startsWith("veracache-refresh-");
    assertThat(redisCli.pttl(redisKey(1))).as("a new lifetime").isGreaterThan(TTL.minusMinutes(1).toMillis());
    assertThat(rawRecord(1)).as("the same record, renewed").isEqualTo(filled);
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "miss")).as("only the first read missed")
        .isEqualTo(1);
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "hit")).isEqualTo(2);
    assertThat(cache.get(1L, countingLoader())).as("a renewed value is young again: no refresh").isEqualTo(v1);
    assertThat(loadThreads).hasSize(2);
  }

  /** A reading client, its cache, and the record its first read filled. */
  private record Reader(Veracache jvm, CacheAside<Long, Product> cache, String filledRecord) {}

  /**
   * The reader's refresh of key 1 (cached "v1", made old) is held after its load, which found the same "v1" it is
   * about to extend; meanwhile the row is updated to "v2" and another client invalidates the key ({@code invalidate});
   * then the refresh goes on. Returns the reader once its refresh is done.
   */
  private Reader refreshHeldWhileAnotherClientInvalidates(
      Function<CacheHooks, CacheOptions.Builder<Long, Product>> options,
      BiConsumer<CacheAside<Long, Product>, Product> invalidate) throws Exception {
    products.insert(1, "v1");
    Gate afterRefreshLoad = new Gate();
    Veracache readerJvm = client();
    CacheAside<Long, Product> reader = readerJvm.cacheAside(options.apply(holdRefreshAt(afterRefreshLoad)).build());
    CacheAside<Long, Product> writer = client().cacheAside(options.apply(CacheHooks.NONE).build());
    reader.get(1L, countingLoader());
    makeOld(1);

    assertThat(reader.get(1L, countingLoader()).name()).isEqualTo("v1");
    afterRefreshLoad.awaitArrival();
    Product v2 = products.update(1, "v2");
    invalidate.accept(writer, v2);
    afterRefreshLoad.open();
    awaitRefreshes(readerJvm, "superseded", 1, "extended");
    return new Reader(readerJvm, reader, null);
  }

  @Test
  void anInvalidationRacingAVersionedRefreshWinsTheRecordIsTheTombstone() throws Exception {
    Reader reader = refreshHeldWhileAnotherClientInvalidates(this::versioned,
        (writer, v2) -> writer.invalidate(1L, v2.version()));

    assertThat(rawRecord(1)).as("the invalidation's tombstone, not the old value").startsWith("P:2:");
    assertThat(refreshes(reader.jvm(), "superseded")).isEqualTo(1);
    assertThat(reader.cache().get(1L, countingLoader()).name()).isEqualTo("v2");
  }

  @Test
  void anInvalidationRacingAnUnversionedRefreshWinsTheOldValueIsNotBack() throws Exception {
    Reader reader = refreshHeldWhileAnotherClientInvalidates(this::unversioned,
        (writer, v2) -> writer.invalidate(1L));

    assertThat(rawRecord(1)).as("what the unversioned invalidation left (nothing), not the old value").isNull();
    assertThat(refreshes(reader.jvm(), "superseded")).isEqualTo(1);
    assertThat(reader.cache().get(1L, countingLoader()).name()).isEqualTo("v2");
  }

  /** A change made to the database without telling the cache. */
  private interface Change {
    void run() throws Exception;
  }

  /**
   * One client caches key 1 (its record kept in {@code filledRecord}); {@code behindTheCachesBack} changes the database;
   * the value is made old and read again through {@code oldReadLoader}, served the cached value at once. Returns once
   * the refresh counted {@code result}.
   */
  private Reader oldValueReadAfter(CacheOptions.Builder<Long, Product> options, Change behindTheCachesBack,
      CacheLoader<Long, Product> oldReadLoader, String result) throws Exception {
    Veracache jvm = client();
    CacheAside<Long, Product> cache = jvm.cacheAside(options.build());
    Product cached = cache.get(1L, countingLoader());
    String filledRecord = rawRecord(1);
    behindTheCachesBack.run();
    makeOld(1);
    assertThat(cache.get(1L, oldReadLoader)).as("the cached value, served at once").isEqualTo(cached);
    awaitRefreshes(jvm, result, 1);
    return new Reader(jvm, cache, filledRecord);
  }

  @Test
  void aRowChangedBehindTheCachesBackIsInvalidatedByTheRefreshOfAnUnversionedCache() throws Exception {
    products.insert(1, "v1");
    Reader reader = oldValueReadAfter(unversioned(CacheHooks.NONE), () -> products.update(1, "v2"),
        countingLoader(), "invalidated");

    assertThat(rawRecord(1)).as("never the loaded value stored unfenced: the key is invalidated").isNull();
    assertThat(reader.cache().get(1L, countingLoader()).name()).isEqualTo("v2");
    assertThat(rawRecord(1)).as("filled again under a lease").startsWith("V:-1:");
  }

  @Test
  void aNewerVersionLoadedByTheRefreshReplacesTheCachedValueThroughTheVersionedSet() throws Exception {
    products.insert(1, "v1");
    Reader reader = oldValueReadAfter(versioned(CacheHooks.NONE), () -> products.update(1, "v2"),
        countingLoader(), "replaced"); // the update's invalidation is lost

    assertThat(rawRecord(1)).startsWith("V:2:");
    assertThat(reader.cache().get(1L, id -> {
      throw new AssertionError("served from Redis, not loaded");
    }).name()).isEqualTo("v2");
  }

  @Test
  void aRefreshFromALaggingReplicaLeavesTheNewerCachedValue() throws Exception {
    Product v1 = products.insert(1, "v1");
    products.update(1, "v2");
    Reader reader = oldValueReadAfter(versioned(CacheHooks.NONE), () -> {}, id -> v1, "older_load");

    assertThat(rawRecord(1)).startsWith("V:2:").isEqualTo(reader.filledRecord());
  }

  @Test
  void aRowDeletedBehindTheCachesBackIsInvalidatedByTheRefresh() throws Exception {
    products.insert(1, "v1");
    Reader reader = oldValueReadAfter(versioned(CacheHooks.NONE), () -> products.delete(1), countingLoader(),
        "invalidated");

    assertThat(rawRecord(1)).as("no value left").doesNotStartWith("V:");
    assertThat(reader.cache().get(1L, countingLoader())).isNull();
  }

  @Test
  void aLoaderThatThrowsInARefreshIsCountedAndChangesNothing() throws Exception {
    products.insert(1, "v1");
    Reader reader = oldValueReadAfter(versioned(CacheHooks.NONE), () -> {}, id -> {
      throw new IllegalStateException("database down");
    }, "failed");

    assertThat(rawRecord(1)).isEqualTo(reader.filledRecord());
    assertThat(redisCli.pttl(redisKey(1))).as("not renewed").isLessThanOrEqualTo(OLD_PTTL);
    assertThat(counter(reader.jvm(), "veracache.loads", "result", "failure")).isEqualTo(1);
  }

  @Test
  void twoClientsReadingTheSameHotKeyRefreshItOnce() throws Exception {
    Product v1 = products.insert(1, "v1");
    Gate afterRefreshLoad = new Gate();
    Veracache jvmA = client();
    Veracache jvmB = client();
    CacheAside<Long, Product> a = jvmA.cacheAside(versioned(holdRefreshAt(afterRefreshLoad)).build());
    CacheAside<Long, Product> b = jvmB.cacheAside(versioned(CacheHooks.NONE).build());
    a.get(1L, countingLoader());
    makeOld(1);

    assertThat(a.get(1L, countingLoader())).isEqualTo(v1);
    afterRefreshLoad.awaitArrival(); // A holds the claim and has loaded
    assertThat(a.get(1L, countingLoader())).as("A again, its refresh in flight: no second one").isEqualTo(v1);
    assertThat(b.get(1L, countingLoader())).isEqualTo(v1);
    awaitRefreshes(jvmB, "claimed_elsewhere", 1);
    afterRefreshLoad.open();
    awaitRefreshes(jvmA, "extended", 1);

    assertThat(backgroundLoads()).as("one reload across both clients").isEqualTo(1);
    for (String result : List.of("extended", "replaced", "invalidated", "superseded", "failed", "dropped")) {
      assertThat(refreshes(jvmB, result)).as("B refreshes{result=%s}", result).isZero();
    }
    assertThat(refreshes(jvmA, "claimed_elsewhere")).isZero();
    assertThat(redisCli.pttl(redisKey(1))).isGreaterThan(TTL.minusMinutes(1).toMillis());
  }

  @Test
  void aFullRefreshQueueDropsTheRefreshAndCountsIt() throws Exception {
    int keys = RefreshAhead.Threads.THREADS + RefreshAhead.Threads.QUEUE_CAPACITY + 1;
    CountDownLatch running = new CountDownLatch(RefreshAhead.Threads.THREADS);
    CountDownLatch release = new CountDownLatch(1);
    CacheHooks holdEveryRefresh = new CacheHooks() {
      @Override
      public void afterRefreshLoad(String redisKey) {
        running.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    Veracache jvm = client();
    CacheAside<Long, String> cache = jvm.cacheAside(CacheOptions.<Long, String>builder(namespace, ValueCodec.utf8())
        .ttl(TTL).ttlJitter(0).refreshAfterWrite(REFRESH_AFTER).l1Enabled(false).hooks(holdEveryRefresh).build());
    CacheLoader<Long, String> loader = id -> "value-" + id;
    for (long id = 1; id <= keys; id++) { // cached values, 5 minutes old, as the loader gives them
      redisCli.set(redisKey(id), ("V:-1:value-" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8),
          io.lettuce.core.SetArgs.Builder.px(OLD_PTTL));
    }
    try {
      for (long id = 1; id <= RefreshAhead.Threads.THREADS; id++) {
        cache.get(id, loader);
      }
      assertThat(running.await(20, TimeUnit.SECONDS)).as("every refresh thread busy").isTrue();
      for (long id = RefreshAhead.Threads.THREADS + 1; id < keys; id++) {
        cache.get(id, loader); // queued
      }
      assertThat(refreshes(jvm, "dropped")).as("the queue holds exactly its capacity").isZero();

      assertThat(cache.get((long) keys, loader)).as("still served at once").isEqualTo("value-" + keys);
      assertThat(refreshes(jvm, "dropped")).isEqualTo(1);
    } finally {
      release.countDown();
    }
    awaitRefreshes(jvm, "extended", keys - 1);
    assertThat(redisCli.pttl(redisKey(keys))).as("the dropped one was not renewed").isLessThanOrEqualTo(OLD_PTTL);
    cache.get((long) keys, loader);
    awaitRefreshes(jvm, "extended", keys);
  }

  @Test
  void refreshAfterWriteMustBePositiveAndBelowTtlTheErrorNamesBoth() {
    assertThatThrownBy(() -> productOptions().refreshAfterWrite(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refreshAfterWrite")
        .hasMessageContaining("PT0S");
    assertThatThrownBy(() -> productOptions().refreshAfterWrite(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refreshAfterWrite");
    assertThatThrownBy(() -> productOptions().refreshAfterWrite(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("refreshAfterWrite");
    assertThatThrownBy(() -> productOptions().ttl(Duration.ofMinutes(5)).refreshAfterWrite(Duration.ofMinutes(5))
        .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refreshAfterWrite (PT5M)").hasMessageContaining("ttl (PT5M)")
        .hasMessageContaining(namespace);
    assertThatThrownBy(() -> productOptions().refreshAfterWrite(Duration.ofMinutes(20)).build())
        .as("checked against the default ttl too")
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refreshAfterWrite (PT20M)")
        .hasMessageContaining("ttl (PT10M)");
    assertThat(productOptions().refreshAfterWrite(Duration.ofMinutes(9)).build().refreshAfterWrite)
        .isEqualTo(Duration.ofMinutes(9));
    assertThat(productOptions().build().refreshAfterWrite).as("off by default").isNull();
  }
}
