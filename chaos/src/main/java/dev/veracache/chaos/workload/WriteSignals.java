package dev.veracache.chaos.workload;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Per cache key: the newest version committed, and the newest version whose post-write steps (the strategy's
 * invalidation, double delete, cache set) are done: "settled". Race injections wait on these instead of sleeping and
 * hoping: a fill is held until a write that committed after its load has settled (R1, R3, R12), a Redis reply until a
 * newer write settled (R7), a write-through set until a newer set settled (R4) or until a delete of its row settled
 * (R13). Every wait is bounded, and all waits end at once when the workload stops ({@link #release()}), so the final
 * comparison is never held.
 *
 * <p>Invariants: per key, {@code committed}, {@code settled} and {@code deleteSettled} only grow; {@code deleteSettled}
 * is at most {@code settled}; a waiter is woken by every change of its key's state and by {@link #release()}.
 */
public final class WriteSignals {

  private static final class KeyState {
    long committed;
    /** When the newest committed version's commit returned ({@link System#nanoTime()}). */
    long committedNanos;
    long settled;
    /** The newest settled version that deleted the row. */
    long deleteSettled;
  }

  private final ConcurrentHashMap<String, KeyState> keys = new ConcurrentHashMap<>();
  private volatile boolean holding = true;

  public void committed(String key, long version, long commitNanos) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      if (version > state.committed) {
        state.committed = version;
        state.committedNanos = commitNanos;
      }
    }
  }

  /** When the newest committed version of {@code key} was committed; 0 if none was. */
  long lastCommittedNanos(String key) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      return state.committedNanos;
    }
  }

  public void settled(String key, long version, boolean deleted) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      state.settled = Math.max(state.settled, version);
      if (deleted) {
        state.deleteSettled = Math.max(state.deleteSettled, version);
      }
      state.notifyAll();
    }
  }

  long lastCommitted(String key) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      return state.committed;
    }
  }

  /**
   * Waits until a version newer than {@code version} of {@code key} has settled, at most {@code timeoutMillis}.
   *
   * @return true if one did, false on timeout or once the workload stopped
   */
  boolean awaitSettledAfter(String key, long version, long timeoutMillis) {
    return await(key, version, timeoutMillis, false);
  }

  /**
   * Waits until a delete of {@code key} with a version newer than {@code version} has settled, at most
   * {@code timeoutMillis}.
   *
   * @return true if one did, false on timeout or once the workload stopped
   */
  boolean awaitDeleteSettledAfter(String key, long version, long timeoutMillis) {
    return await(key, version, timeoutMillis, true);
  }

  private boolean await(String key, long version, long timeoutMillis, boolean deleteOnly) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (state) {
      while (holding && (deleteOnly ? state.deleteSettled : state.settled) <= version) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(state, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return holding;
    }
  }

  /** Race injections are active (until {@link #release()}). */
  boolean holding() {
    return holding;
  }

  /** Ends every wait and every future hold: the workload stopped. */
  public void release() {
    holding = false;
    for (KeyState state : keys.values()) {
      synchronized (state) {
        state.notifyAll();
      }
    }
  }
}
