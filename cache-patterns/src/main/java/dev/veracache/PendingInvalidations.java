package dev.veracache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invalidations Redis did not take (unreachable, OOM, READONLY), kept and retried until it does: a failed delete after
 * a write must not leave the old value cached until its TTL (race R2 without CDC).
 *
 * <p>Invariants: one entry per Redis key, holding the newest version asked for (an unversioned request wins over
 * versions since it is the stronger invalidation); an entry leaves only after Redis applied an invalidation at least as
 * strong, or when the bound is exceeded, which is logged and counted as {@code veracache.invalidations{result=dropped}}.
 * Reads of a key with a pending invalidation retry it first and, while it still fails, bypass Redis. The queue lives
 * in this JVM's heap: a crash loses it, which is why the CDC listener, not this queue, is the durable guarantee.
 */
final class PendingInvalidations implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PendingInvalidations.class);

  record Pending(long version, long tombstoneTtlMillis) {
    Pending merge(Pending other) {
      long merged = version < 0 || other.version < 0 ? RedisRecord.NO_VERSION : Math.max(version, other.version);
      return new Pending(merged, Math.max(tombstoneTtlMillis, other.tombstoneTtlMillis));
    }
  }

  private final RedisLink link;
  private final int max;
  private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
  private final ScheduledExecutorService retrier;
  private final Counter dropped;
  private final Counter retried;

  PendingInvalidations(RedisLink link, VeracacheOptions options) {
    this.link = link;
    this.max = options.maxPendingInvalidations;
    MeterRegistry registry = options.meterRegistry;
    Gauge.builder("veracache.invalidations.pending", pending, Map::size).tag("client", options.clientName)
        .description("Invalidations Redis refused, waiting to be retried").register(registry);
    this.dropped = Counter.builder("veracache.invalidations").tag("client", options.clientName).tag("cache", "*").tag("result", "dropped")
        .description("Pending invalidations dropped because maxPendingInvalidations was exceeded").register(registry);
    this.retried = Counter.builder("veracache.invalidations").tag("client", options.clientName).tag("cache", "*").tag("result", "retried")
        .description("Pending invalidations applied by a retry").register(registry);
    this.retrier = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veracache-invalidation-retry");
      t.setDaemon(true);
      return t;
    });
    long interval = options.invalidationRetryInterval.toNanos();
    retrier.scheduleWithFixedDelay(this::retryAll, interval, interval, TimeUnit.NANOSECONDS);
  }

  /** Runs the invalidation script once; throws {@link L2Failure} when Redis did not take it. */
  void apply(String redisKey, long version, long tombstoneTtlMillis) {
    link.run(FenceScript.INVALIDATE, redisKey, ascii(version), ascii(tombstoneTtlMillis));
  }

  void enqueue(String redisKey, long version, long tombstoneTtlMillis) {
    pending.merge(redisKey, new Pending(version, tombstoneTtlMillis), Pending::merge);
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

  boolean isEmpty() {
    return pending.isEmpty();
  }

  /**
   * If the key has a pending invalidation, tries it now. Returns true when the key is clean (nothing pending, or the
   * retry was applied); false when it is still pending and Redis must not be read for it.
   */
  boolean settle(String redisKey) {
    Pending p = pending.get(redisKey);
    return p == null || tryApply(redisKey, p);
  }

  int size() {
    return pending.size();
  }

  /** Retries now rather than at the next tick: called when Redis is healthy again. */
  void retrySoon() {
    if (!pending.isEmpty()) {
      retrier.execute(this::retryAll);
    }
  }

  private void retryAll() {
    if (pending.isEmpty()) {
      return;
    }
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      if (!tryApply(e.getKey(), e.getValue())) {
        return; // Redis still refuses; try the rest next round
      }
    }
  }

  private boolean tryApply(String redisKey, Pending p) {
    try {
      apply(redisKey, p.version, p.tombstoneTtlMillis);
    } catch (L2Failure e) {
      return false;
    }
    if (pending.remove(redisKey, p)) {
      retried.increment();
      log.info("pending invalidation of '{}' applied", redisKey);
    }
    return true;
  }

  static byte[] ascii(long n) {
    return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    retrier.shutdownNow();
    if (!pending.isEmpty()) {
      log.error("closing with {} invalidations Redis never took; those keys may stay stale in Redis until their TTL",
          pending.size());
    }
  }
}
