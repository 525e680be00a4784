package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The consistency inspector against the embedded MariaDB and Redis. Staleness is injected the way a lost invalidation
 * leaves it: the row is changed by plain SQL and nobody invalidates. Re-checks are held on the inspector's
 * {@code beforeRecheck} seam where the order matters, so no outcome depends on timing; Awaitility only waits for the
 * window to pass.
 */
class InspectorIT extends RealServersTest {

  private static final Duration WINDOW = Duration.ofMillis(200);

  private ListAppender<ILoggingEvent> logged;
  private Logger inspectorLog;

  @BeforeEach
  void captureTheInspectorsLog() {
    inspectorLog = (Logger) LoggerFactory.getLogger(ConsistencyInspector.class);
    logged = new ListAppender<>();
    logged.start();
    inspectorLog.addAppender(logged);
    inspectorLog.setLevel(Level.DEBUG); // an inspection's error is logged at DEBUG: shown in the test output
  }

  @AfterEach
  void stopCapturing() {
    inspectorLog.detachAppender(logged);
    inspectorLog.setLevel(null);
  }

  /**
   * A client whose inspector runs with {@code inspector}. Its Redis timeout is long: on a loaded machine a heartbeat
   * that times out makes reads degrade to the loader, and a read served by the loader is (rightly) not sampled.
   */
  private Veracache inspected(InspectorOptions.Builder inspector) {
    return newInstance(b -> b.inspector(inspector.build()).commandTimeout(Duration.ofSeconds(5)));
  }

  private Veracache inspectedEveryHit() {
    return inspected(InspectorOptions.builder().sampleRate(1).window(WINDOW).maxInFlight(10_000));
  }

  private static void awaitIdle(Veracache jvm) {
    await().atMost(Duration.ofSeconds(30)).until(() -> jvm.inspector().inFlight() == 0);
  }

  /** Row 1 ("v1"), read into the L1 of a cache of {@code jvm} with {@code options}; its inspections are done. */
  private CacheAside<Long, Product> rowOneInL1(Veracache jvm, CacheOptions.Builder<Long, Product> options)
      throws java.sql.SQLException {
    products.insert(1, "v1");
    CacheAside<Long, Product> cache = jvm.cacheAside(options.build());
    warmL1(jvm, cache, 1, loader());
    awaitIdle(jvm);
    return cache;
  }

  private List<String> staleLines() {
    return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Test
  void aRowChangedWithoutInvalidationIsCountedStaleAfterTheWindowFromL1() throws Exception {
    aRowChangedWithoutInvalidationIsCountedStale(true);
  }

  @Test
  void aRowChangedWithoutInvalidationIsCountedStaleAfterTheWindowFromRedis() throws Exception {
    aRowChangedWithoutInvalidationIsCountedStale(false);
  }

  private void aRowChangedWithoutInvalidationIsCountedStale(boolean l1) throws Exception {
    products.insert(1, "v1");
    Veracache jvm = inspectedEveryHit();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().l1Enabled(l1).build());
    cache.get(1L, loader()); // a miss: fresh by construction, not sampled
    jvm.awaitPushesSoFar();
    cache.get(1L, loader()); // an L2 hit, equal to the row
    awaitIdle(jvm);
    assertThat(jvm.inspector().sampled()).isEqualTo(1);
    assertThat(jvm.inspector().mismatched()).isZero();

    products.update(1, "v2"); // committed; the invalidation is lost
    assertThat(cache.get(1L, loader()).name()).as("served from the cache").isEqualTo("v1");
    awaitIdle(jvm);

    assertThat(jvm.inspector().sampled()).isEqualTo(2);
    assertThat(jvm.inspector().mismatched()).isEqualTo(1);
    assertThat(jvm.inspector().stale()).isEqualTo(1);
    assertThat(jvm.inspector().errors()).isZero();
    assertThat(counter(jvm, "veracache.inspector.stale", "cache", namespace)).isEqualTo(1);
    assertThat(counter(jvm, "veracache.inspector.mismatched", "cache", namespace)).isEqualTo(1);
    assertThat(counter(jvm, "veracache.inspector.sampled", "cache", namespace)).isEqualTo(2);
    assertThat(counter(jvm, "veracache.inspector.stale.age", "cache", namespace)).as("stale.age recorded")
        .isEqualTo(1);
    assertThat(staleLines()).singleElement().asString()
        .contains("cache '" + namespace + "'", "'" + redisKey(1) + "'", "served version 1", "database version 2")
        .containsPattern("still stale \\d+ ms after");
    assertThat(cache.get(1L, loader()).name()).as("the inspector does not repair, it measures").isEqualTo("v1");
  }

  @Test
  void anUnversionedCacheComparesTheCodecsBytes() throws Exception {
    Veracache jvm = inspectedEveryHit();
    CacheAside<Long, Product> cache =
        rowOneInL1(jvm, CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)));
    assertThat(jvm.inspector().mismatched()).as("same bytes").isZero();

    products.update(1, "v2");
    cache.get(1L, loader());
    awaitIdle(jvm);

    assertThat(jvm.inspector().mismatched()).isEqualTo(1);
    assertThat(jvm.inspector().stale()).isEqualTo(1);
    assertThat(staleLines()).singleElement().asString().contains("served version none (", "database version none (");
  }

  @Test
  void aRowInvalidatedWithinTheWindowIsMismatchedButNotStale() throws Exception {
    Veracache jvm = inspectedEveryHit();
    CacheAside<Long, Product> cache = rowOneInL1(jvm, productOptions());
    Gate recheck = new Gate();
    jvm.inspector().beforeRecheck = key -> recheck.hold();

    Product v2 = products.update(1, "v2");
    assertThat(cache.get(1L, loader()).name()).isEqualTo("v1"); // served before the invalidation: mismatched
    recheck.awaitArrival(); // the first check found the mismatch; the window has passed
    cache.invalidate(1L, v2.version()); // the invalidation lands before the re-check
    recheck.open();
    awaitIdle(jvm);

    assertThat(jvm.inspector().mismatched()).isEqualTo(1);
    assertThat(jvm.inspector().stale()).isZero();
    assertThat(staleLines()).isEmpty();
  }

  /**
   * The same load twice: two readers hit keys (at most 500 reads each, so that no sample is dropped) while a writer
   * commits updates; the re-checks are held until the writer is done, so each compares the final state. The naive way (no invalidation, a lost invalidation) leaves reads stale; Veracache's way (invalidate after
   * commit) leaves none.
   */
  @Test
  void underTheSameLoadOnlyLostInvalidationsAreCountedStale() throws Exception {
    Veracache naive = inspectedEveryHit();
    assertThat(readWhileWriting(naive, false).stale()).as("stale without invalidations").isPositive();

    Veracache veracache = inspectedEveryHit();
    ConsistencyInspector inspector = readWhileWriting(veracache, true);
    assertThat(inspector.sampled()).isPositive();
    assertThat(inspector.stale()).as("stale with invalidations after commit").isZero();
  }

  private ConsistencyInspector readWhileWriting(Veracache jvm, boolean invalidate) throws Exception {
    int keys = 5;
    String ns = namespace + (invalidate ? "i" : "n");
    ProductTable table = new ProductTable(db, "product_" + ns);
    CacheAside<Long, Product> cache = jvm.cacheAside(CacheOptions.<Long, Product>builder(ns,
        ValueCodec.json(Product.class)).version(Product::version).build());
    CacheLoader<Long, Product> loader = table::find;
    for (long id = 1; id <= keys; id++) {
      table.insert(id, "r0");
      warmL1(jvm, cache, id, loader);
    }
    CountDownLatch writerDone = new CountDownLatch(1);
    jvm.inspector().beforeRecheck = key -> {
      try {
        writerDone.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    AtomicBoolean writing = new AtomicBoolean(true);
    ExecutorService readers = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> running = List.of(
          readers.submit(() -> readUntil(writing, cache, loader, keys)),
          readers.submit(() -> readUntil(writing, cache, loader, keys)));
      for (int round = 1; round <= 10; round++) {
        for (long id = 1; id <= keys; id++) {
          Product committed = table.update(id, "r" + round);
          if (invalidate) {
            cache.invalidate(id, committed.version());
          }
        }
      }
      writing.set(false);
      for (Future<?> reader : running) {
        reader.get(30, TimeUnit.SECONDS);
      }
      for (long id = 1; id <= keys; id++) {
        cache.get(id, loader); // one more read of every key after the last commit
      }
    } finally {
      writerDone.countDown();
      readers.shutdownNow();
    }
    awaitIdle(jvm);
    assertThat(jvm.inspector().dropped()).isZero();
    return jvm.inspector();
  }

  private static Void readUntil(AtomicBoolean writing, CacheAside<Long, Product> cache,
      CacheLoader<Long, Product> loader, int keys) {
    for (long n = 0; writing.get() && n < 500; n++) {
      cache.get(1 + n % keys, loader);
    }
    return null;
  }

  @Test
  void aSampleRateOfZeroSamplesNothingAndRegistersNothing() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1, loader());
    products.update(1, "v2");
    for (int i = 0; i < 100; i++) {
      cache.get(1L, loader());
    }
    assertThat(jvm.inspector().enabled()).isFalse();
    assertThat(jvm.inspector().sampled()).isZero();
    assertThat(jvm.inspector().mismatched()).isZero();
    assertThat(counter(jvm, "veracache.inspector.sampled", "cache", namespace)).as("no meter when off").isZero();
  }

  @Test
  void aSampleRateOfOneSamplesEveryHitAndNoMiss() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = inspectedEveryHit();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, loader()); // miss
    cache.get(2L, loader()); // miss of a row that does not exist ("not found" is cached)
    awaitIdle(jvm);
    assertThat(jvm.inspector().sampled()).as("misses are not sampled").isZero();
    jvm.awaitPushesSoFar();
    cache.get(1L, loader()); // L2 hit, enters L1
    cache.get(2L, loader()); // L2 hit of "not found"
    for (int i = 0; i < 10; i++) {
      cache.get(1L, loader()); // L1 hits
    }
    awaitIdle(jvm);
    assertThat(jvm.inspector().sampled()).isEqualTo(12);
    assertThat(jvm.inspector().mismatched()).isZero();
    assertThat(jvm.inspector().dropped()).isZero();
  }

  @Test
  void samplesBeyondMaxInFlightAreDroppedAndCounted() throws Exception {
    Veracache jvm = inspected(InspectorOptions.builder().sampleRate(1).window(WINDOW).maxInFlight(1));
    CacheAside<Long, Product> cache = rowOneInL1(jvm, productOptions());
    long before = jvm.inspector().sampled();
    Gate inspection = new Gate();
    CacheLoader<Long, Product> heldOnTheInspectorsThread = id -> {
      if (Thread.currentThread().getName().startsWith("veracache-inspector-")) {
        inspection.hold();
      }
      return products.find(id);
    };

    cache.get(1L, heldOnTheInspectorsThread); // sampled; its re-read is held
    inspection.awaitArrival();
    for (int i = 0; i < 5; i++) {
      assertThat(cache.get(1L, heldOnTheInspectorsThread).name()).isEqualTo("v1");
    }
    assertThat(jvm.inspector().dropped()).isEqualTo(5);
    assertThat(jvm.inspector().sampled()).isEqualTo(before + 1);
    assertThat(counter(jvm, "veracache.inspector.dropped", "cache", namespace)).isEqualTo(5);
    inspection.open();
    awaitIdle(jvm);
    cache.get(1L, loader());
    awaitIdle(jvm);
    assertThat(jvm.inspector().sampled()).as("sampling goes on once the slot is free").isEqualTo(before + 2);
  }

  @Test
  void aLoaderErrorDuringAnInspectionIsCountedAndNeverThrown() throws Exception {
    Veracache jvm = inspectedEveryHit();
    CacheAside<Long, Product> cache = rowOneInL1(jvm, productOptions());
    CacheLoader<Long, Product> failingOffThread = id -> {
      if (Thread.currentThread().getName().startsWith("veracache-inspector-")) {
        throw new java.sql.SQLException("database down");
      }
      return products.find(id);
    };

    assertThat(cache.get(1L, failingOffThread).name()).isEqualTo("v1");
    awaitIdle(jvm);

    assertThat(jvm.inspector().errors()).isEqualTo(1);
    assertThat(counter(jvm, "veracache.inspector.errors", "cache", namespace)).isEqualTo(1);
    assertThat(jvm.inspector().mismatched()).isZero();
    assertThat(staleLines()).isEmpty();
  }
}
