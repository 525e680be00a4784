package dev.veracache.spring.cache;

import dev.veracache.SplitRead;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Objects;

/**
 * The split reads a thread has open: Spring's {@code @Cacheable(sync = false)} calls {@code Cache.get(key)}, runs the
 * method on a miss, then {@code Cache.put(key, value)} on the same thread; the miss's fill lease waits here for that
 * put. A few may be open at once (nested cached methods, several caches in one {@code @Caching}).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>A put fills only under a read of its own method call.</b> {@link OpenReadScope} marks each cached method
 *       call; a put takes only a read opened since its call's mark, and when the call ends (returned, threw, or its
 *       result vetoed by {@code unless}) every read it left open is abandoned: its lease released at once, never
 *       matched to a later put of the same key (which may carry a value read before a newer invalidation).</li>
 *   <li>An open read is also abandoned by an evict or clear of it, and by a newer read of the same cache and key on
 *       the thread (which would otherwise wait on the thread's own lease).</li>
 *   <li>Outside a marked call (the cache used directly), at most {@link #MAX_OPEN} stay open per thread, the eldest
 *       abandoned beyond that; a lease not given back expires by itself after {@code lease-ttl}.</li>
 * </ul>
 */
final class OpenReads {

  static final int MAX_OPEN = 16;

  /** One open read, and the marked call that opened it (0: outside any). */
  private record Open(Object cache, Object key, SplitRead<Object> read, long call) {}

  private static final ThreadLocal<Deque<Open>> OPEN = ThreadLocal.withInitial(ArrayDeque::new);
  /** The thread's current marked call ([0], 0 outside any) and the last call id given ([1]). */
  private static final ThreadLocal<long[]> CALLS = ThreadLocal.withInitial(() -> new long[2]);

  private OpenReads() {}

  static void open(Object cache, Object key, SplitRead<Object> read) {
    Deque<Open> open = OPEN.get();
    abandon(cache, key);
    open.addLast(new Open(cache, key, read, CALLS.get()[0]));
    while (open.size() > MAX_OPEN) {
      open.removeFirst().read().abandon();
    }
  }

  /** Begins a marked call: returns what {@link #endCall} needs to restore the outer call. */
  static long beginCall() {
    long[] calls = CALLS.get();
    long outer = calls[0];
    calls[0] = ++calls[1];
    return outer;
  }

  /** Ends the current marked call: abandons every read it left open, and restores the outer call. */
  static void endCall(long outer) {
    long[] calls = CALLS.get();
    long ending = calls[0];
    for (Iterator<Open> it = OPEN.get().iterator(); it.hasNext(); ) {
      Open o = it.next();
      if (o.call() == ending) {
        it.remove();
        o.read().abandon();
      }
    }
    calls[0] = outer;
  }

  /**
   * The thread's open read of this cache and key opened by the current marked call (or any, outside a marked call),
   * removed; null when there is none.
   */
  static SplitRead<Object> take(Object cache, Object key) {
    long current = CALLS.get()[0];
    for (Iterator<Open> it = OPEN.get().descendingIterator(); it.hasNext(); ) {
      Open o = it.next();
      if (o.cache() == cache && Objects.equals(o.key(), key) && (current == 0 || o.call() == current)) {
        it.remove();
        return o.read();
      }
    }
    return null;
  }

  /**
   * Releases the lease of the thread's open read of this cache and key, whichever call opened it (a nested call of
   * the same key would otherwise wait on its outer call's lease; the outer call's put then finds no read of its own
   * and is stored as a {@code @CachePut} is: a versioned set or an invalidation).
   */
  static void abandon(Object cache, Object key) {
    for (Iterator<Open> it = OPEN.get().descendingIterator(); it.hasNext(); ) {
      Open o = it.next();
      if (o.cache() == cache && Objects.equals(o.key(), key)) {
        it.remove();
        o.read().abandon();
        return;
      }
    }
  }

  /** Releases the leases of every open read of this cache on the thread. */
  static void abandonAll(Object cache) {
    for (Iterator<Open> it = OPEN.get().iterator(); it.hasNext(); ) {
      Open o = it.next();
      if (o.cache() == cache) {
        it.remove();
        o.read().abandon();
      }
    }
  }

  /** For tests: how many reads the thread has open. */
  static int openOnThisThread() {
    return OPEN.get().size();
  }
}
