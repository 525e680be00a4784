package dev.veracache;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One miss's bounded wait for another caller's fill (R9): the miss found a live lease on its key, so it waits for the
 * value instead of loading too, and gives up at {@code leaseWaitTimeout} (then it loads without filling).
 *
 * <p>Invariants: the deadline runs from the miss's first lease attempt; the key is registered with {@link KeyWaiters}
 * before it is read, so a fill landing in between wakes the wait; a wait lasts at most {@link #POLL_NANOS} (no push
 * comes while tracking is down) and never past the deadline; the waiter is always unregistered.
 */
final class LeaseWait {

  static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final KeyWaiters waiters;
  private final String namespace;
  private final long deadline;
  private long waitStart; // 0 until the first wait

  LeaseWait(KeyWaiters waiters, String namespace, long timeoutNanos) {
    this.waiters = waiters;
    this.namespace = namespace;
    this.deadline = System.nanoTime() + timeoutNanos;
  }

  /** True the first time only: the caller runs {@code beforeLeaseWait} then. */
  boolean begin() {
    if (waitStart != 0) {
      return false;
    }
    waitStart = System.nanoTime();
    return true;
  }

  boolean expired() {
    return System.nanoTime() - deadline >= 0;
  }

  /**
   * Reads the key ({@code read}, after registering for its change) and, while a lease is still recorded in it, waits
   * for the change. Returns what was read: a hit, or a miss after which the caller tries to take the lease again.
   *
   * @throws VeracacheException if the thread is interrupted (its interrupt flag is set again)
   */
  <V> Lookup<V> awaitFill(String redisKey, Supplier<Lookup<V>> read) {
    CompletableFuture<Void> change = waiters.awaitChange(redisKey);
    try {
      Lookup<V> found = read.get();
      if (found instanceof Lookup.Miss<V> miss && miss.leaseRecorded()) {
        change.get(Math.min(deadline - System.nanoTime(), POLL_NANOS), TimeUnit.NANOSECONDS);
      }
      return found;
    } catch (TimeoutException e) {
      return Lookup.leased(); // poll again: tracking pushes do not arrive while degraded
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VeracacheException("cache '" + namespace + "': interrupted while waiting for the fill of '"
          + redisKey + "'", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e); // never completed exceptionally
    } finally {
      waiters.stopWaiting(redisKey, change);
    }
  }

  /** Records the wait in {@code veracache.lease.waits}, if there was one. */
  void finish(CacheMetrics metrics, boolean gotValue) {
    if (waitStart != 0) {
      (gotValue ? metrics.leaseWaitValue : metrics.leaseWaitTimeout)
          .record(System.nanoTime() - waitStart, TimeUnit.NANOSECONDS);
    }
  }
}
