package dev.veracache;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Collapses concurrent calls for one key within this JVM into one: the first caller runs, the others get its result
 * (or its exception); a {@code null} result is shared like any other. Across JVMs the Redis lease does the same
 * job.
 *
 * <p>Invariant: a call that starts after {@link #detach} of its key never joins a flight that started before it
 * (read-your-writes within one JVM, R11 of the hardening list: a read that starts after {@code invalidate()}
 * returned must not get the answer of a load that may have read the old row). The detached flight runs on and
 * answers the callers that had joined it.
 */
final class SingleFlight<T> {

  private final ConcurrentHashMap<String, CompletableFuture<T>> inFlight = new ConcurrentHashMap<>();

  /** Later calls for the key start a flight of their own. */
  void detach(String key) {
    inFlight.remove(key);
  }

  void detachAll() {
    inFlight.clear();
  }

  T run(String key, Supplier<T> work) {
    CompletableFuture<T> mine = new CompletableFuture<>();
    CompletableFuture<T> existing = inFlight.putIfAbsent(key, mine);
    if (existing != null) {
      try {
        return existing.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
    try {
      T result = work.get();
      mine.complete(result);
      return result;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.remove(key, mine);
    }
  }
}
