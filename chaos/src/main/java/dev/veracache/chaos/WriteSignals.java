package dev.veracache.chaos;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Per cache key: the newest version committed, and the newest version whose post-write steps (the strategy's
 * invalidation, double delete, cache set) are done: "settled". Race injections wait on these instead of sleeping and
 * hoping: a fill is held until a write that committed after its load has settled (R1, R3, R12), a Redis reply until a
 * newer write settled (R7), a write-through set until a newer set settled (R4). Every wait is bounded, and all waits
 * end at once when the workload stops ({@link #release()}), so the final comparison is never held.
 */
final class WriteSignals {

  private static final class KeyState {
    long committed;
    long settled;
  }

  private final ConcurrentHashMap<String, KeyState> keys = new ConcurrentHashMap<>();
  private volatile boolean holding = true;

  void committed(String key, long version) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      state.committed = Math.max(state.committed, version);
    }
  }

  void settled(String key, long version) {
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    synchronized (state) {
      state.settled = Math.max(state.settled, version);
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
    KeyState state = keys.computeIfAbsent(key, k -> new KeyState());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (state) {
      while (holding && state.settled <= version) {
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
  void release() {
    holding = false;
    for (KeyState state : keys.values()) {
      synchronized (state) {
        state.notifyAll();
      }
    }
  }
}
