package dev.veracache.cdc.internal;

import dev.veracache.CacheUnavailableException;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.TableMapping;
import dev.veracache.internal.RedisInvalidator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flush of every mapped namespace when invalidations may have been lost (race R6: a purged or lost position skipped
 * changes; R15: a Redis that lost acknowledged data), and the stored duty behind it.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Lost invalidations are flushed at least once.</b> The duty is stored ({@link ListenerState}) before the
 *       position can move ({@link #owe}), and cleared only after every namespace was flushed ({@link #clearIfStill}). A
 *       listener stopped in between flushes on its next start.</li>
 *   <li><b>Each namespace is retried until Redis took it</b>; every refusal is counted in
 *       {@code veracache.cdc.retries}, logged, and shown in the status ({@link #refusal()}). A close ends the retries with the duty still stored.</li>
 * </ul>
 */
public final class NamespaceFlush {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);

  private final CdcOptions options;
  private final ListenerState state;
  private final RedisInvalidator invalidator;
  private final ListenerMetrics metrics;
  private final RedisRetry retry;
  private final Lifecycle lifecycle;
  private final List<String> namespaces;
  /** Why the mapped namespaces must be flushed once live (stored in {@link #state}); null when nothing is owed. */
  private volatile String duty;
  /** The last Redis refusal of the flush, for the status; null when none. */
  private volatile String refusal;

  private long dutyGeneration; // guarded by this

  public NamespaceFlush(CdcOptions options, ListenerState state, RedisInvalidator invalidator,
      ListenerMetrics metrics, RedisRetry retry, Lifecycle lifecycle) {
    this.options = options;
    this.state = state;
    this.invalidator = invalidator;
    this.metrics = metrics;
    this.retry = retry;
    this.lifecycle = lifecycle;
    this.namespaces = namespaces(options);
  }

  /** The mapped namespaces, sorted, each once. */
  public static List<String> namespaces(CdcOptions options) {
    return options.mappings().tables().stream().map(TableMapping::namespace).distinct().sorted().toList();
  }

  public List<String> namespaces() {
    return namespaces;
  }

  /** Why a flush is owed, or null. */
  public String duty() {
    return duty;
  }

  /** The last refusal of the flush by Redis, or null. */
  public String refusal() {
    return refusal;
  }

  /** A duty found stored at start (left by an earlier run). */
  synchronized void owedFromEarlierRun(String reason) {
    duty = reason;
    dutyGeneration++;
  }

  /** Stores the duty first (throws IllegalStateException naming the store when it cannot), then owes it. */
  synchronized void owe(String reason) {
    state.recordFlushDuty(reason);
    duty = reason;
    dutyGeneration++;
  }

  /** Changes with every duty owed: a flush clears only the duty it was started for ({@link #clearIfStill}). */
  synchronized long dutyGeneration() {
    return dutyGeneration;
  }

  /**
   * Deletes every key of the mapped namespaces, each retried until Redis took it. True when all were flushed; false
   * when a close (or an interrupt) cut it short.
   */
  boolean flushAll() {
    for (String namespace : namespaces) {
      for (int attempt = 1; ; attempt++) {
        if (lifecycle.isClosed()) {
          return false;
        }
        try {
          long deleted = invalidator.flushNamespace(namespace);
          refusal = null;
          metrics.namespacesFlushed.increment();
          log.warn("listener {}: flushed namespace '{}' ({} keys) because {}", options.name(), namespace, deleted,
              duty);
          break;
        } catch (CacheUnavailableException e) {
          if (lifecycle.isClosed()) {
            return false; // the close interrupted the call: not a refusal by Redis; the duty stays stored
          }
          metrics.retries.increment();
          refusal = e.getMessage();
          long pause = retry.backoff(attempt);
          if (attempt == 1 || attempt % 20 == 0) {
            log.warn("listener {}: Redis did not flush namespace '{}' (attempt {}, {}); not live until it does, "
                + "retrying in {} ms", options.name(), namespace, attempt, e.getMessage(), pause);
          }
          try {
            Thread.sleep(pause);
          } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * After the flush: the duty is done, unless another was owed since the flush began ({@code generation} is
   * {@link #dutyGeneration()} read before it): a restarted engine's duty stays for its own flush. If the stored duty
   * cannot be cleared it stays, and the next start flushes again.
   */
  synchronized void clearIfStill(long generation) {
    if (generation != dutyGeneration) {
      return;
    }
    try {
      state.clearFlushDuty();
      duty = null;
    } catch (RuntimeException e) {
      log.warn("listener {}: flushed the mapped namespaces but cannot clear the stored flush duty ({}); the next start "
          + "will flush them again", options.name(), e.getMessage());
    }
  }
}
