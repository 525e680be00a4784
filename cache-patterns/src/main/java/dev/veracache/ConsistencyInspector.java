package dev.veracache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The consistency inspector of one {@link Veracache} client: it samples a share of the reads answered by L1 or L2
 * ({@link InspectorOptions#sampleRate()}), re-reads the database with that read's loader off the request thread, and
 * when the served value differs from the database's, checks again after {@link InspectorOptions#window()}: a read whose
 * cache still serves an older (or, unversioned, a different) value then counts as stale and is logged at WARN. It
 * measures the staleness promise (GUARANTEES.md, bounded staleness) in production, the way Meta's Polaris and Uber's
 * Cache Inspector do. Obtain it from {@link Veracache#inspector()}; configure it with
 * {@link VeracacheOptions.Builder#inspector(InspectorOptions)}. The work is done per cache by an
 * {@code InspectorSampler}.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Off costs nothing on the read path</b>: with a sample rate of 0 no sampler exists, no thread is started and
 *       no meter is registered; the read path tests one final field for null.</li>
 *   <li><b>On, the read path never waits and never allocates unless the read is sampled</b>: the decision is one
 *       thread-local random number; a sampled read hands one task to the inspector's own daemon thread
 *       ({@code veracache-inspector-<client>}). The loader, the codec, the version extractor and Redis are only called
 *       there.</li>
 *   <li><b>Bounded</b>: at most {@code maxInFlight} inspections exist at once (queued, re-reading, or waiting for the
 *       window); past it a sample is dropped and counted, never queued.</li>
 *   <li><b>Never throws to anyone</b>: a loader, codec, extractor or Redis error during an inspection is counted
 *       ({@code errors}) and logged at DEBUG; the inspection ends.</li>
 *   <li><b>Counts are per outcome</b>: every sample is counted once in {@code sampled} or in {@code dropped}; a
 *       sampled read is counted in {@code mismatched} at most once and, only if mismatched, in {@code stale} at most
 *       once.</li>
 * </ul>
 */
public final class ConsistencyInspector {

  private final InspectorOptions options;
  private final MeterRegistry registry;
  private final String clientName;
  /** Null when off. */
  private final ScheduledThreadPoolExecutor executor;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ConcurrentHashMap<String, Meters> metersByNamespace = new ConcurrentHashMap<>();
  private final LongAdder sampled = new LongAdder();
  private final LongAdder mismatched = new LongAdder();
  private final LongAdder stale = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder errors = new LongAdder();
  /** Test seam: runs on the inspector's thread just before a re-check, with the Redis key. */
  volatile Consumer<String> beforeRecheck = redisKey -> {};

  ConsistencyInspector(InspectorOptions options, MeterRegistry registry, String clientName) {
    this.options = options;
    this.registry = registry;
    this.clientName = clientName;
    if (options.enabled()) {
      AtomicInteger threads = new AtomicInteger();
      executor = new ScheduledThreadPoolExecutor(1, task -> {
        Thread t = new Thread(task, "veracache-inspector-" + clientName + "-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      executor.setRemoveOnCancelPolicy(true);
      executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    } else {
      executor = null;
    }
  }

  /** Whether reads are sampled (a sample rate above 0). */
  public boolean enabled() {
    return executor != null;
  }

  /** The settings it runs with. */
  public InspectorOptions options() {
    return options;
  }

  /** Reads sampled and inspected (not counting dropped samples), over every cache of the client. */
  public long sampled() {
    return sampled.sum();
  }

  /** Sampled reads whose served value differed from the database's at the first check. */
  public long mismatched() {
    return mismatched.sum();
  }

  /** Mismatched reads whose cache still served an older or different value than the database's after the window. */
  public long stale() {
    return stale.sum();
  }

  /** Samples not inspected because {@code maxInFlight} inspections were in flight (or the client was closing). */
  public long dropped() {
    return dropped.sum();
  }

  /** Inspections that ended on a loader, codec, version extractor or Redis error. */
  public long errors() {
    return errors.sum();
  }

  /** For tests: inspections in flight now (queued, re-reading or waiting for the window). */
  int inFlight() {
    return inFlight.get();
  }

  /** The sampler of one cache, or null when the inspector is off (the read path then tests only that null). */
  <K, V> InspectorSampler<K, V> samplerFor(CacheOptions<K, V> cache, L1Store l1, RedisEntries<V> entries) {
    if (executor == null) {
      return null;
    }
    Meters meters = metersByNamespace.computeIfAbsent(cache.namespace, Meters::new);
    return new InspectorSampler<>(this, meters, cache, l1, entries);
  }

  // ---- called by the samplers ----

  /** Takes an in-flight slot for a new inspection, or counts the sample dropped. */
  boolean tryBegin(Meters meters) {
    if (inFlight.incrementAndGet() > options.maxInFlight) {
      inFlight.decrementAndGet();
      countDropped(meters);
      return false;
    }
    sampled.increment();
    meters.sampled.increment();
    return true;
  }

  void end() {
    inFlight.decrementAndGet();
  }

  /**
   * Runs {@code task} on the inspector's thread after {@code delayNanos}; false if the client is closing. The tasks
   * catch and count their own failures, so the future has nothing to report.
   */
  @SuppressWarnings("FutureReturnValueIgnored")
  boolean schedule(Runnable task, long delayNanos) {
    try {
      executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  long windowNanos() {
    return options.window.toNanos();
  }

  double sampleRate() {
    return options.sampleRate;
  }

  void countDropped(Meters meters) {
    dropped.increment();
    meters.dropped.increment();
  }

  void countMismatched(Meters meters) {
    mismatched.increment();
    meters.mismatched.increment();
  }

  void countStale(Meters meters, long staleForNanos) {
    stale.increment();
    meters.stale.increment();
    meters.staleAge.record(staleForNanos, TimeUnit.NANOSECONDS);
  }

  void countError(Meters meters) {
    errors.increment();
    meters.errors.increment();
  }

  /** Stops the inspector's thread; inspections not finished are abandoned. */
  void close() {
    if (executor != null) {
      executor.shutdownNow();
    }
  }

  /** The meters of one cache (namespace), tagged {@code client} and {@code cache}; see the module README. */
  final class Meters {
    final Counter sampled;
    final Counter mismatched;
    final Counter stale;
    final Counter dropped;
    final Counter errors;
    final Timer staleAge;

    Meters(String cache) {
      sampled = counter("veracache.inspector.sampled", cache, "Cache hits sampled and re-read from the database");
      mismatched = counter("veracache.inspector.mismatched", cache,
          "Sampled hits whose value differed from the database at the first check");
      stale = counter("veracache.inspector.stale", cache,
          "Sampled hits whose cache still served an older value than the database after the window");
      dropped = counter("veracache.inspector.dropped", cache, "Samples dropped: too many inspections in flight");
      errors = counter("veracache.inspector.errors", cache, "Inspections that failed (loader, codec, Redis)");
      staleAge = Timer.builder("veracache.inspector.stale.age").tags("client", clientName, "cache", cache)
          .description("How long a stale read's value was seen stale: from the first check to the re-check")
          .register(registry);
    }

    private Counter counter(String name, String cache, String description) {
      return Counter.builder(name).tags("client", clientName, "cache", cache).description(description)
          .register(registry);
    }
  }
}
