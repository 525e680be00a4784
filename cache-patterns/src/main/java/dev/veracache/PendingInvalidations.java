package dev.veracache;

import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invalidations Redis did not take (unreachable, OOM, READONLY, a key it refuses), kept and retried until it does: a
 * failed delete after a write must not leave the old value cached until its TTL (race R2 without CDC).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>One entry per Redis key</b>, holding the merge of every invalidation asked for ({@link Invalidation#merge}:
 *       at least as strong as each).</li>
 *   <li><b>An entry leaves only when Redis applied that very entry</b> (compared by identity: an invalidation merged
 *       in while a retry was in flight makes a new entry, which stays until it is applied itself), or when the bound
 *       {@code maxPendingInvalidations} is exceeded, which is logged and counted as
 *       {@code veracache.invalidations{result=dropped}}.</li>
 *   <li><b>Each entry is retried on its own.</b> A key Redis refuses for good (an ACL, a script error) does not hold
 *       back the others; only "Redis unreachable" ends a retry round early, since every other call would fail the
 *       same way. After {@value #REFUSALS_BEFORE_REPORTING} refusals in a row the entry is reported once (ERROR log,
 *       {@code veracache.invalidations{result=refused}}) and kept: the key stays the safe way, see next.</li>
 *   <li><b>While a key has an entry, reads of it bypass Redis and do not enter L1</b> ({@link #settle}): neither
 *       level can be trusted for a key whose invalidation Redis has not taken, and no push will come for it.</li>
 *   <li><b>Retries do not stop until close</b>: a retry round that fails is logged, and the next one runs.</li>
 * </ul>
 * The queue lives in this JVM's heap: a crash loses it, which is why the CDC listener, not this queue, is the durable
 * guarantee.
 */
final class PendingInvalidations implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PendingInvalidations.class);
  static final int REFUSALS_BEFORE_REPORTING = 5;

  /** One key's pending invalidation. Never mutated but for the refusal count; a merge makes a new entry. */
  private static final class Entry {
    final Invalidation invalidation;
    final long tombstoneTtlMillis;
    int refusalsInARow; // touched by the retry thread only (and by settle, racily: it is only a report threshold)
    boolean reported;

    Entry(Invalidation invalidation, long tombstoneTtlMillis) {
      this.invalidation = invalidation;
      this.tombstoneTtlMillis = tombstoneTtlMillis;
    }

    Entry merge(Entry other) {
      Entry merged = new Entry(invalidation.merge(other.invalidation),
          Math.max(tombstoneTtlMillis, other.tombstoneTtlMillis));
      merged.refusalsInARow = refusalsInARow;
      merged.reported = reported;
      return merged;
    }
  }

  /** Runs one invalidation in Redis ({@code FenceProtocol.invalidate}); throws {@link L2Failure} when not taken. */
  interface Applier {
    void apply(String redisKey, Invalidation invalidation, long tombstoneTtlMillis);
  }

  private final Applier applier;
  private final int max;
  private final long retryIntervalNanos;
  private final ConcurrentHashMap<String, Entry> pending = new ConcurrentHashMap<>();
  /** Whole-cache invalidations Redis did not take, by key prefix, each with what deletes its keys. */
  private final Map<String, Runnable> pendingClears = new java.util.concurrent.ConcurrentHashMap<>();
  private final ScheduledExecutorService retrier;
  /** The periodic {@link #retryRound}, cancelled on close. */
  private volatile ScheduledFuture<?> retries;
  private final Counter dropped;
  private final Counter retried;
  private final Counter refused;

  PendingInvalidations(Applier applier, VeracacheOptions options) {
    this.applier = applier;
    this.max = options.maxPendingInvalidations;
    MeterRegistry registry = options.meterRegistry;
    Gauge.builder("veracache.invalidations.pending", this, PendingInvalidations::size).tag("client", options.clientName)
        .description("Invalidations (and whole-cache clears) Redis refused, waiting to be retried").register(registry);
    this.dropped = counter(registry, options.clientName, "dropped",
        "Pending invalidations dropped because maxPendingInvalidations was exceeded");
    this.retried = counter(registry, options.clientName, "retried", "Pending invalidations applied by a retry");
    this.refused = counter(registry, options.clientName, "refused",
        "Pending invalidations Redis keeps refusing (reported once each; still retried, reads bypass the key)");
    this.retrier = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veracache-invalidation-retry");
      t.setDaemon(true);
      return t;
    });
    this.retryIntervalNanos = options.invalidationRetryInterval.toNanos();
  }

  /** Schedules the retries. */
  void start() {
    retries = retrier.scheduleWithFixedDelay(this::retryRound, retryIntervalNanos, retryIntervalNanos,
        TimeUnit.NANOSECONDS);
  }

  /**
   * One retry round, scheduled or asked for by {@link #retrySoon}. The executor would keep a failure escaping it to
   * itself, and the scheduled one would silently end every later round: it is logged and the schedule goes on.
   */
  private void retryRound() {
    try {
      retryAll();
    } catch (RuntimeException e) {
      log.error("a retry round of pending invalidations failed; the next round runs as scheduled", e);
    }
  }

  private static Counter counter(MeterRegistry registry, String client, String result, String description) {
    return Counter.builder("veracache.invalidations").tag("client", client).tag("cache", "*").tag("result", result)
        .description(description).register(registry);
  }

  /** Runs the invalidation script once; throws {@link L2Failure} when Redis did not take it. */
  void apply(String redisKey, Invalidation invalidation, long tombstoneTtlMillis) {
    applier.apply(redisKey, invalidation, tombstoneTtlMillis);
  }

  void enqueue(String redisKey, Invalidation invalidation, long tombstoneTtlMillis) {
    Entry entry = new Entry(invalidation, tombstoneTtlMillis);
    pending.merge(redisKey, entry, Entry::merge);
    if (pending.size() > max) {
      // Drop some entry (not the one just added) to keep the bound; say so.
      for (String key : pending.keySet()) {
        if (!key.equals(redisKey) && pending.remove(key) != null) {
          dropped.increment();
          log.error("pending invalidations exceed maxPendingInvalidations ({}): dropped the one for '{}', which may "
              + "stay stale in Redis until its TTL", max, key);
          break;
        }
      }
    }
  }

  /**
   * Queues a whole-cache invalidation ({@link TieredCache#invalidateAll}) Redis did not take: {@code clear} deletes
   * every key under {@code redisPrefix} (throwing {@link L2Failure} when Redis does not take it). Until it lands,
   * reads of those keys bypass Redis and L1 ({@link #settle}); the retries run in the background only (a clear is a
   * SCAN of the cache: no read waits for it).
   */
  void enqueueClear(String redisPrefix, Runnable clear) {
    pendingClears.put(redisPrefix, clear);
  }

  boolean isEmpty() {
    return pending.isEmpty() && pendingClears.isEmpty();
  }

  /**
   * If the key has a pending invalidation, tries it now. Returns true when the key is clean (nothing pending, or the
   * retry was applied); false when it is still pending: then neither Redis nor L1 may be used for it.
   */
  boolean settle(String redisKey) {
    if (!pendingClears.isEmpty()) {
      for (String prefix : pendingClears.keySet()) {
        if (redisKey.startsWith(prefix)) {
          return false;
        }
      }
    }
    Entry entry = pending.get(redisKey);
    return entry == null || tryApply(redisKey, entry) == null;
  }

  int size() {
    return pending.size() + pendingClears.size();
  }

  /** Retries now rather than at the next tick: called when Redis is healthy again. */
  void retrySoon() {
    if (!isEmpty()) {
      retrier.execute(this::retryRound);
    }
  }

  private void retryAll() {
    for (Map.Entry<String, Runnable> clear : java.util.List.copyOf(pendingClears.entrySet())) {
      try {
        clear.getValue().run();
      } catch (L2Failure e) {
        if (e.kind == L2Failure.Kind.UNAVAILABLE) {
          return; // next round
        }
        log.debug("pending invalidation of every key under '{}' refused again: {}", clear.getKey(), e.getMessage());
        continue; // refused (an ACL, OOM): still counted in veracache.invalidations.pending, retried next round
      }
      if (pendingClears.remove(clear.getKey(), clear.getValue())) {
        retried.increment();
        log.info("pending invalidation of every key under '{}' applied", clear.getKey());
      }
    }
    if (pending.isEmpty()) {
      return;
    }
    for (Map.Entry<String, Entry> e : pending.entrySet()) {
      L2Failure failure = tryApply(e.getKey(), e.getValue());
      if (failure != null && failure.kind == L2Failure.Kind.UNAVAILABLE) {
        return; // Redis cannot be reached: every other key would fail the same way; next round
      }
    }
  }

  /** Applies the entry; null when Redis took it, else the failure (counted towards reporting a refused key). */
  private L2Failure tryApply(String redisKey, Entry entry) {
    try {
      apply(redisKey, entry.invalidation, entry.tombstoneTtlMillis);
    } catch (L2Failure e) {
      if (e.kind == L2Failure.Kind.REFUSED && ++entry.refusalsInARow >= REFUSALS_BEFORE_REPORTING
          && !entry.reported) {
        entry.reported = true;
        refused.increment();
        log.error("Redis keeps refusing the invalidation of '{}' ({} times in a row: {}); still retrying it, and "
            + "reads of this key bypass Redis and L1 until it is taken", redisKey, entry.refusalsInARow,
            e.getMessage());
      }
      return e;
    }
    if (pending.remove(redisKey, entry)) { // by identity: a newer merge stays queued
      retried.increment();
      log.info("pending invalidation of '{}' applied", redisKey);
    }
    return null;
  }

  @Override
  public void close() {
    ScheduledFuture<?> scheduled = retries;
    if (scheduled != null) {
      scheduled.cancel(false);
    }
    retrier.shutdownNow();
    if (!isEmpty()) {
      log.error("closing with {} invalidations Redis never took; those keys may stay stale in Redis until their TTL",
          size());
    }
  }
}
