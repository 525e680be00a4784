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
 * <p>Invariants: an open read is taken (removed) by the put of its cache and key, or abandoned (its lease released) by
 * an evict or clear of it, or by a newer read of the same cache and key on the thread; at most {@link #MAX_OPEN} stay
 * open per thread, the eldest abandoned beyond that (a method that threw never puts: its lease goes at the thread's
 * next reads, or expires by itself after {@code lease-ttl}).
 */
final class OpenReads {

  static final int MAX_OPEN = 16;

  private record Open(Object cache, Object key, SplitRead<Object> read) {}

  private static final ThreadLocal<Deque<Open>> OPEN = ThreadLocal.withInitial(ArrayDeque::new);

  private OpenReads() {}

  static void open(Object cache, Object key, SplitRead<Object> read) {
    Deque<Open> open = OPEN.get();
    abandon(cache, key);
    open.addLast(new Open(cache, key, read));
    while (open.size() > MAX_OPEN) {
      open.removeFirst().read().abandon();
    }
  }

  /** The thread's open read of this cache and key, removed; null when there is none. */
  static SplitRead<Object> take(Object cache, Object key) {
    Deque<Open> open = OPEN.get();
    for (Iterator<Open> it = open.descendingIterator(); it.hasNext(); ) {
      Open o = it.next();
      if (o.cache() == cache && Objects.equals(o.key(), key)) {
        it.remove();
        return o.read();
      }
    }
    return null;
  }

  /** Releases the lease of the thread's open read of this cache and key, if any. */
  static void abandon(Object cache, Object key) {
    SplitRead<Object> read = take(cache, key);
    if (read != null) {
      read.abandon();
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
