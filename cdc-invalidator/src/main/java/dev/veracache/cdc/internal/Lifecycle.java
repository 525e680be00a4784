package dev.veracache.cdc.internal;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The one state value of a CDC listener, and the signal its waiters wait on.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <pre>
 *   STARTING --engine started--> PROVING --readiness marker back--> FLUSHING --owed flush done--> LIVE
 *      ^                            |                                   ^                          |
 *      +---- engine stopped (purged position, restarting) -------------+---- Redis lost data -----+
 *   any --error--> FAILED        any --close()--> CLOSED (keeps the failure, if any)
 * </pre>
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>One value, changed atomically</b> ({@link #move} compares and sets): no combination of flags can say
 *       "live and closing". FAILED and CLOSED are final (FAILED only moves to CLOSED); the first failure is kept.</li>
 *   <li><b>Every change completes {@link #changed()}</b> (and installs a new future), so a waiter that took the future
 *       before it read the state never misses a change: {@code awaitLive}, the prover's waits, a stall that ended.</li>
 *   <li>LIVE here is "proven": the marker came back and no flush is owed; being stalled is a separate, time-derived
 *       condition ({@link RedisRetry#isStalled()}).</li>
 * </ul>
 */
public final class Lifecycle {

  /** Where the listener stands. */
  public enum Phase {
    /** Built, or between two engines: no engine streams. */
    STARTING,
    /** An engine runs; its readiness marker has not come back through the binlog yet. */
    PROVING,
    /** The marker came back; the mapped namespaces are being flushed (a flush is owed), then LIVE. */
    FLUSHING,
    /** Proven to see new commits, nothing owed. */
    LIVE,
    /** Stopped by an error ({@link #failure()}). */
    FAILED,
    /** Closed by its owner. */
    CLOSED
  }

  private record Snapshot(Phase phase, Throwable failure) {}

  private final AtomicReference<Snapshot> current = new AtomicReference<>(new Snapshot(Phase.STARTING, null));
  private volatile CompletableFuture<Void> changed = new CompletableFuture<>();

  public Phase phase() {
    return current.get().phase();
  }

  /** Why the listener stopped, or null. */
  public Throwable failure() {
    return current.get().failure();
  }

  /** FAILED or CLOSED: nothing moves any more. */
  public boolean isOver() {
    Phase phase = phase();
    return phase == Phase.FAILED || phase == Phase.CLOSED;
  }

  public boolean isClosed() {
    return phase() == Phase.CLOSED;
  }

  /** Moves to {@code to} if the phase is one of {@code from}; false (and no change) otherwise. */
  public boolean move(Phase to, Phase... from) {
    Set<Phase> allowed = from.length == 0 ? EnumSet.noneOf(Phase.class) : EnumSet.of(from[0], from);
    while (true) {
      Snapshot now = current.get();
      if (!allowed.contains(now.phase())) {
        return false;
      }
      if (current.compareAndSet(now, new Snapshot(to, now.failure()))) {
        signal();
        return true;
      }
    }
  }

  /** Stops with {@code cause}, unless already over (the first failure is kept; a closed listener stays closed). */
  public void fail(Throwable cause) {
    while (true) {
      Snapshot now = current.get();
      if (now.phase() == Phase.FAILED || now.phase() == Phase.CLOSED) {
        return;
      }
      if (current.compareAndSet(now, new Snapshot(Phase.FAILED, cause))) {
        signal();
        return;
      }
    }
  }

  /** Moves to CLOSED, keeping a failure; true the first time. */
  public boolean close() {
    while (true) {
      Snapshot now = current.get();
      if (now.phase() == Phase.CLOSED) {
        return false;
      }
      if (current.compareAndSet(now, new Snapshot(Phase.CLOSED, now.failure()))) {
        signal();
        return true;
      }
    }
  }

  /** Completed at the next change. Take it before reading the state, then wait on it. */
  public CompletableFuture<Void> changed() {
    return changed;
  }

  /** Something a waiter may care about changed (a phase, or a stall ended). */
  public void signal() {
    CompletableFuture<Void> done;
    synchronized (this) {
      done = changed;
      changed = new CompletableFuture<>();
    }
    done.complete(null);
  }

  /**
   * Waits until {@code future} completes or {@code timeout} passes.
   *
   * @return false when the timeout passed first
   */
  public static boolean await(CompletableFuture<Void> future, Duration timeout) throws InterruptedException {
    try {
      future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("the change signal never fails", e);
    }
  }
}
