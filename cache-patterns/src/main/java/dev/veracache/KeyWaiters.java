package dev.veracache;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Misses waiting for another caller's fill of a key (R9): each waits on the key's next change, which the tracking push
 * of the fill (or of an invalidation, or a flush) reports.
 *
 * <p>Invariants: one future per key, shared by its waiters; a change of the key completes and removes it, a flush or
 * an overflow completes them all. A waiter registers before it reads the key, so a change landing between its read and
 * its wait is never missed.
 */
final class KeyWaiters {

  private final ConcurrentHashMap<String, CompletableFuture<Void>> waiters = new ConcurrentHashMap<>();

  /** Completes when the key changes in Redis (or on any clear). */
  CompletableFuture<Void> awaitChange(String redisKey) {
    return waiters.computeIfAbsent(redisKey, k -> new CompletableFuture<>());
  }

  void stopWaiting(String redisKey, CompletableFuture<Void> waiter) {
    waiters.remove(redisKey, waiter);
  }

  void changed(String redisKey) {
    CompletableFuture<Void> waiter = waiters.remove(redisKey);
    if (waiter != null) {
      waiter.complete(null);
    }
  }

  void everythingChanged() {
    waiters.forEach((k, f) -> f.complete(null));
    waiters.clear();
  }
}
