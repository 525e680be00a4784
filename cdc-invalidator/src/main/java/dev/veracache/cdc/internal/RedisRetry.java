package dev.veracache.cdc.internal;

import dev.veracache.CacheUnavailableException;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import io.github.resilience4j.core.IntervalFunction;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries the Redis steps of a batch until Redis takes them, and knows whether the stream is stalled on one (races
 * R2 and R6: a Redis outage must neither drop an invalidation nor let the position move past it).
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Never returns without Redis having taken the step</b>; only a close ends the retries (InterruptedException),
 *       and then nothing of the batch is acknowledged.</li>
 *   <li><b>A stream that cannot make progress says so.</b> While a step is unapplied its age is the gauge
 *       {@code veracache.cdc.oldest.unapplied.age}; once it has been retried for {@code stallThreshold} the listener is
 *       stalled: one ERROR line and {@code veracache.cdc.stalls}; one INFO line when Redis takes it, and a
 *       {@link Lifecycle#signal()} so that {@code awaitLive} sees the listener live again. Every refusal counts in
 *       {@code veracache.cdc.retries}.</li>
 *   <li>Only the engine thread runs steps; {@link #isStalled()} and the age are read from any thread.</li>
 * </ul>
 */
public final class RedisRetry {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);

  /** One Redis step of a batch. */
  @FunctionalInterface
  interface Step<T> {
    T run();
  }

  /**
   * The step Redis has not taken yet ({@code what}: "a batch of 3 invalidations", "the progress record", "the flush
   * of namespace 'x'"): since when (nanoTime), and how its attempts went.
   */
  private record Unapplied(String what, long receivedNanos, int failedAttempts, String lastError) {}

  private final CdcOptions options;
  private final ListenerMetrics metrics;
  private final Lifecycle lifecycle;
  private final IntervalFunction backoff;
  private volatile Unapplied unapplied;
  private boolean stallReported; // engine thread only

  public RedisRetry(CdcOptions options, ListenerMetrics metrics, Lifecycle lifecycle) {
    this.options = options;
    this.metrics = metrics;
    this.lifecycle = lifecycle;
    this.backoff = IntervalFunction.ofExponentialBackoff(options.retryInitialBackoff(), 2.0,
        options.retryMaxBackoff());
  }

  /** The pause before attempt {@code attempt + 1}. */
  long backoff(int attempt) {
    return backoff.apply(attempt);
  }

  /**
   * Runs {@code step} until Redis takes it. {@code unappliedAtOnce}: the step counts as unapplied from its first
   * attempt (a batch of invalidations), not only from its first refusal. {@code consequence} ends the WARN line of a
   * refusal ("position not acknowledged").
   *
   * @throws InterruptedException when the listener closes before Redis took it
   */
  <T> T untilTaken(String what, boolean unappliedAtOnce, String consequence, Step<T> step)
      throws InterruptedException {
    long received = System.nanoTime();
    if (unappliedAtOnce) {
      unapplied = new Unapplied(what, received, 0, null);
    }
    for (int attempt = 1; ; attempt++) {
      if (lifecycle.isClosed()) {
        throw new InterruptedException("closing before Redis took " + what + "; it is replayed from the last "
            + "acknowledged position");
      }
      try {
        T result = step.run();
        taken(what, received, attempt);
        return result;
      } catch (CacheUnavailableException e) {
        if (lifecycle.isClosed()) {
          throw new InterruptedException("closing: " + what + " not taken"); // the close cut it: nothing to report
        }
        long pause = refused(what, received, attempt, e);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not take {} (attempt {}, {}); {}, retrying in {} ms", options.name(), what,
              attempt, e.getMessage(), consequence, pause);
        }
        Thread.sleep(pause);
      }
    }
  }

  /**
   * One refused attempt at a step ({@code what}, first tried at {@code received}): counts the retry, keeps the
   * unapplied step current for the age gauge and the stall state, and reports the stall once (ERROR) when it has
   * lasted {@code stallThreshold}. Returns the pause before the next attempt.
   */
  private long refused(String what, long received, int attempt, CacheUnavailableException e) {
    metrics.retries.increment();
    unapplied = new Unapplied(what, received, attempt, e.getMessage());
    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received);
    if (!stallReported && waitedMillis >= options.stallThreshold().toMillis()) {
      reportStall(what, waitedMillis, attempt, e.getMessage());
    }
    return backoff(attempt);
  }

  private void reportStall(String what, long waitedMillis, int attempts, String lastError) {
    stallReported = true;
    metrics.stalls.increment();
    log.error("listener {} stalled: Redis has refused {} for {} ms ({} attempts, last: {}); the position does not "
        + "move and the mapped caches may serve stale values until Redis takes it. Retrying every {} ms at most",
        options.name(), what, waitedMillis, attempts, lastError, options.retryMaxBackoff().toMillis());
  }

  /**
   * Redis took a step: nothing is unapplied now; one INFO line if the stream had stalled on it. A stall that began
   * during the pause before this attempt ({@link #isStalled()} said so, nothing reported it yet) is reported first,
   * so that every stall health showed is counted and logged, and its end wakes {@code awaitLive}.
   */
  private void taken(String what, long received, int attempt) {
    Unapplied step = unapplied;
    if (!stallReported && step != null && step.failedAttempts() > 0
        && System.nanoTime() - received >= options.stallThreshold().toNanos()) {
      reportStall(what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received), step.failedAttempts(),
          step.lastError());
    }
    unapplied = null;
    if (stallReported) {
      stallReported = false;
      lifecycle.signal(); // live again
      log.info("listener {} recovered: Redis took {} after {} ms and {} attempts; the position moves again",
          options.name(), what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received), attempt);
    } else if (attempt > 1) {
      log.info("listener {}: Redis took {} after {} attempts", options.name(), what, attempt);
    }
  }

  /** True while a step has been retried for longer than {@code stallThreshold}. */
  public boolean isStalled() {
    Unapplied step = unapplied;
    return step != null && step.failedAttempts() > 0
        && System.nanoTime() - step.receivedNanos() >= options.stallThreshold().toNanos();
  }

  /** How long ago the oldest change Redis has not taken yet was received, ms; 0 when none. */
  public long oldestUnappliedAgeMillis() {
    Unapplied step = unapplied;
    return step == null ? 0 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - step.receivedNanos());
  }

  /** For the status while stalled: what Redis refuses, for how long, how often. */
  public String stallDetail() {
    Unapplied step = unapplied;
    if (step == null) {
      return "Redis took everything";
    }
    return "Redis has refused " + step.what() + " for " + oldestUnappliedAgeMillis() + " ms (" + step.failedAttempts()
        + " attempts; last: " + step.lastError() + "); the binlog position does not move until it takes it";
  }
}
