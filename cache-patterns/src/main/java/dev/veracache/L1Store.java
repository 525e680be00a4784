package dev.veracache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One cache's L1: a bounded Caffeine map from the encoded key to the decoded value, guarded against the two ways an
 * L1 goes stale.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No entry outlives {@code l1Ttl}</b>, which the client caps at {@code maxL1Ttl}.</li>
 *   <li><b>An invalidation that arrives while a read is in flight wins</b> (race R7). A read takes a {@link ReadTicket}
 *       before it asks Redis; {@link #invalidate} bumps the ticket's key and then removes the entry;
 *       {@link #complete} puts the answer only if the key was not bumped since the ticket was taken, inside Caffeine's
 *       per-key compute so the put and a concurrent removal cannot interleave.</li>
 *   <li><b>No entry is written from a read that straddled a loss of invalidations.</b> The ticket carries the
 *       tracker's epoch, which changes whenever invalidations may have been lost; a ticket from another epoch does not
 *       write.</li>
 *   <li>While invalidations cannot arrive ({@code degraded}), an entry older than {@code degradedTtl} is not served.</li>
 * </ul>
 */
final class L1Store {

  /** A cached value, or a cached "not found" ({@code value == null}). */
  static final class Entry {
    final Object value;
    final long writtenAtNanos;
    final long expiresAtNanos; // only checked for negative entries, which may live shorter than l1Ttl

    Entry(Object value, long writtenAtNanos, long expiresAtNanos) {
      this.value = value;
      this.writtenAtNanos = writtenAtNanos;
      this.expiresAtNanos = expiresAtNanos;
    }
  }

  /** Readers in flight for one key, and how many invalidations of that key they have seen. */
  private static final class InFlight {
    int readers;
    volatile long invalidations;
  }

  /** Taken before a read of Redis or the loader; decides whether the answer may enter L1. */
  static final class ReadTicket {
    final String key;
    final long epoch;
    private final InFlight inFlight;
    private final long invalidationsAtStart;

    private ReadTicket(String key, long epoch, InFlight inFlight, long invalidationsAtStart) {
      this.key = key;
      this.epoch = epoch;
      this.inFlight = inFlight;
      this.invalidationsAtStart = invalidationsAtStart;
    }

    boolean invalidatedSinceStart() {
      return inFlight.invalidations != invalidationsAtStart;
    }
  }

  private final Cache<String, Entry> entries;
  private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  private final long negativeTtlNanos;
  private final InvalidationTracker tracker;

  L1Store(long maximumSize, Duration ttl, Duration negativeTtl, InvalidationTracker tracker) {
    this.entries = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(ttl).build();
    this.negativeTtlNanos = Math.min(negativeTtl.toNanos(), ttl.toNanos());
    this.tracker = tracker;
  }

  /** The entry to serve, or null. */
  Entry get(String key) {
    Entry entry = entries.getIfPresent(key);
    if (entry == null) {
      return null;
    }
    if (entry.value == null || tracker.degraded) {
      long now = System.nanoTime();
      if ((entry.value == null && now - entry.expiresAtNanos >= 0)
          || (tracker.degraded && now - entry.writtenAtNanos > tracker.degradedTtlNanos)) {
        entries.asMap().remove(key, entry);
        return null;
      }
    }
    return entry;
  }

  ReadTicket beginRead(String key) {
    long epoch = tracker.epoch;
    InFlight[] holder = new InFlight[1];
    long[] seen = new long[1];
    inFlight.compute(key, (k, current) -> {
      InFlight f = current == null ? new InFlight() : current;
      f.readers++;
      holder[0] = f;
      seen[0] = f.invalidations;
      return f;
    });
    return new ReadTicket(key, epoch, holder[0], seen[0]);
  }

  /** Puts the read's answer ({@code value == null}: not found) unless an invalidation or an epoch change intervened. */
  void complete(ReadTicket ticket, Object value) {
    long now = System.nanoTime();
    Entry entry = new Entry(value, now, now + negativeTtlNanos);
    entries.asMap().compute(ticket.key, (k, current) ->
        ticket.invalidatedSinceStart() || ticket.epoch != tracker.epoch ? current : entry);
  }

  /** Must follow every {@link #beginRead}, in a finally block. */
  void endRead(ReadTicket ticket) {
    inFlight.computeIfPresent(ticket.key, (k, f) -> --f.readers == 0 ? null : f);
  }

  void invalidate(String key) {
    inFlight.computeIfPresent(key, (k, f) -> {
      f.invalidations++;
      return f;
    });
    entries.invalidate(key);
  }

  void clear() {
    inFlight.forEach((k, f) -> invalidate(k));
    entries.invalidateAll();
  }

  long estimatedSize() {
    return entries.estimatedSize();
  }

  boolean contains(String key) {
    return entries.getIfPresent(key) != null;
  }
}
