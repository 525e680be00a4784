package dev.veracache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One cache's L1: a bounded Caffeine map from the encoded key to the decoded value, guarded against the two ways an
 * L1 goes stale.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No entry outlives {@code l1Ttl}</b>, which the client caps at {@code maxL1Ttl}. Ages are read from the
 *       client's {@code Ticker} ({@code VeracacheOptions.Builder.ticker}).</li>
 *   <li><b>An invalidation that arrives while a read is in flight wins</b> (race R7). A read takes a {@link ReadTicket}
 *       before it asks Redis; {@link #invalidate} bumps the ticket's key and then removes the entry;
 *       {@link #complete} puts the answer only if the key was not bumped since the ticket was taken, inside Caffeine's
 *       per-key compute so the put and a concurrent removal cannot interleave. A refused answer writes nothing (it
 *       leaves the key's entry, or drops it, never rewrites it), so a refusal never makes an old entry look young (R5,
 *       below).</li>
 *   <li><b>No entry is written from a read that straddled a loss of invalidations.</b> The ticket carries the
 *       tracker's epoch ({@code epoch}), which changes whenever invalidations may have been lost; a ticket from
 *       another epoch does not write.</li>
 *   <li><b>A key that becomes a sibling shape's leaves this L1.</b> When a cache of another key shape of the namespace
 *       is added, the plain shape drops (and refuses reads in flight of) every key beginning with its prefix
 *       ({@link #invalidateStartingWith}).</li>
 *   <li>While invalidations cannot arrive ({@code degraded}), or the CDC listener is behind, an entry older than the
 *       limit in force ({@link #limitAgesBy}: {@code degradedL1Ttl}, the listener's staleness bound) is not served. Its
 *       age comes from Caffeine's expiration policy (so a hit outside degraded mode reads no clock), except for an answer
 *       stored while a limit was in force: its age counts from when its read began ({@link #readStarts}), since it may
 *       have been read long before it was stored (a slow load), and no invalidation could refuse it meanwhile. An
 *       answer whose read began longer ago than the limit is not stored at all. The age is always that of the entry the
 *       read found (by identity): a fresher entry stored meanwhile never lends an old one its age.</li>
 * </ul>
 */
final class L1Store {

  /** What {@link #getSlowly} returns for a cached "not found". */
  static final Object NOT_FOUND = new Object() {
    @Override
    public String toString() {
      return "NOT_FOUND";
    }
  };

  /** Readers in flight for one key, and how many invalidations of that key they have seen. */
  private static final class InFlight {
    int readers;
    final AtomicLong invalidations = new AtomicLong(); // bumped under the map's per-key lock, read without it
  }

  /** Taken before a read of Redis or the loader; decides whether the answer may enter L1. */
  static final class ReadTicket {
    final String key;
    final long epoch;
    private final InFlight inFlight;
    private final long invalidationsAtStart;
    /** When the read began, on the client's ticker. */
    private final long startNanos;

    private ReadTicket(String key, long epoch, InFlight inFlight, long invalidationsAtStart, long startNanos) {
      this.key = key;
      this.epoch = epoch;
      this.inFlight = inFlight;
      this.invalidationsAtStart = invalidationsAtStart;
      this.startNanos = startNanos;
    }

    boolean invalidatedSinceStart() {
      return inFlight.invalidations.get() != invalidationsAtStart;
    }
  }

  // Values are stored as they are (no wrapper), so a hit is one Caffeine lookup and no extra dereference; "not found"
  // lives in its own map with its own (shorter) expiry.
  final Cache<String, Object> values; // read directly by DefaultTieredCache on the hit path
  private final Cache<String, Object> notFound;
  private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  /**
   * For the answers stored while an age limit was in force: when their read began (ticker nanos), and the entry stored
   * (by identity: a read start belongs to that entry only). It goes with its entry: replaced or removed in the same
   * per-key compute that stores one, removed when the entry is evicted or expires (the maps' eviction listeners),
   * invalidated or dropped. An entry without one was stored while invalidations could refuse it, and is aged by
   * Caffeine from its store.
   */
  private final ConcurrentHashMap<String, ReadStart> readStarts = new ConcurrentHashMap<>();
  /** The tracker's epoch: it changes whenever invalidations may have been lost. */
  private final LongSupplier epoch;
  private final Ticker ticker;
  /** How old an entry may be to be served now ({@code Long.MAX_VALUE}: any); see {@link #limitAgesBy}. */
  private volatile LongSupplier maxAgeNanos = () -> Long.MAX_VALUE;

  L1Store(long maximumSize, Duration ttl, Duration negativeTtl, Ticker ticker, LongSupplier epoch) {
    this.values = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(ttl).ticker(ticker)
        .<String, Object>evictionListener((key, entry, cause) -> forgetReadStart(key, entry)).build();
    this.notFound = Caffeine.newBuilder().maximumSize(maximumSize)
        .expireAfterWrite(negativeTtl.compareTo(ttl) < 0 ? negativeTtl : ttl).ticker(ticker)
        .<String, Object>evictionListener((key, entry, cause) -> forgetReadStart(key, entry)).build();
    this.epoch = epoch;
    this.ticker = ticker;
  }

  /**
   * Wires the cache's current age limit (degraded, listener behind) in, for {@link #complete}; the reads pass the same
   * limit to {@link #getSlowly}. Set once, by the cache that owns this L1.
   */
  void limitAgesBy(LongSupplier maxAgeNanos) {
    this.maxAgeNanos = maxAgeNanos;
  }

  /**
   * The rest of an L1 read, after the hit path (in {@code DefaultTieredCache.get}, which reads {@link #values}
   * directly) found no value or is in degraded mode. {@code value} is what {@link #values} held, maybe null. Returns
   * the value to serve, {@link #NOT_FOUND}, or null (not in L1, or not trusted now).
   */
  Object getSlowly(String key, Object value, long maxAgeNanos) {
    if (value != null) {
      return youngEnough(values, key, value, maxAgeNanos) ? value : null;
    }
    Object negative = notFound.getIfPresent(key);
    if (negative == null || !youngEnough(notFound, key, negative, maxAgeNanos)) {
      return null;
    }
    return NOT_FOUND;
  }

  /**
   * While invalidations cannot arrive ({@code degradedL1Ttl}), or the CDC listener is behind (its staleness bound),
   * only an entry younger than {@code maxAgeNanos} is served; older ones are dropped. {@code Long.MAX_VALUE}: any.
   * The age is that of {@code entry}, the one the caller read: if the key holds another entry by now (a fresher answer
   * stored meanwhile), {@code entry} is not served (its own age is no longer known), and a read start recorded for
   * another entry counts as too old.
   */
  private boolean youngEnough(Cache<String, Object> cache, String key, Object entry, long maxAgeNanos) {
    if (maxAgeNanos == Long.MAX_VALUE) {
      return true;
    }
    OptionalLong age = cache.policy().expireAfterWrite()
        .map(policy -> policy.ageOf(key, TimeUnit.NANOSECONDS)).orElse(OptionalLong.empty());
    ReadStart readStart = readStarts.get(key);
    long sinceRead = readStart == null ? 0
        : readStart.entry() == entry ? ticker.read() - readStart.nanos() : Long.MAX_VALUE;
    boolean stillThatEntry = cache.policy().getIfPresentQuietly(key) == entry;
    if (!stillThatEntry || age.isEmpty() || age.getAsLong() > maxAgeNanos || sinceRead > maxAgeNanos) {
      // Only that entry goes, by identity: an equal, fresher one stays. (Not a compute that returns the entry it finds:
      // Caffeine counts that as a write and the entry would look young.) An equal entry stored between the check and
      // the removal goes too, which is safe; its read start then stays behind, which only makes the key look older.
      if (stillThatEntry) {
        cache.asMap().remove(key, entry);
      }
      forgetReadStart(key, entry);
      return false;
    }
    return true;
  }

  /** Forgets the read start of {@code key} if it belongs to {@code entry} (gone from L1). */
  private void forgetReadStart(String key, Object entry) {
    readStarts.computeIfPresent(key, (k, start) -> start.entry() == entry ? null : start);
  }

  /** When the read of an entry stored under an age limit began (ticker nanos), and that entry (by identity). */
  private record ReadStart(long nanos, Object entry) {}

  /** What the not-found map holds: one object per stored answer, so that an entry is known by identity. */
  private static final class NotFoundEntry {}

  ReadTicket beginRead(String key) {
    long epochAtStart = epoch.getAsLong();
    InFlight[] holder = new InFlight[1];
    long[] seen = new long[1];
    inFlight.compute(key, (k, current) -> {
      InFlight f = current == null ? new InFlight() : current;
      f.readers++;
      holder[0] = f;
      seen[0] = f.invalidations.get();
      return f;
    });
    return new ReadTicket(key, epochAtStart, holder[0], seen[0], ticker.read());
  }

  /**
   * Puts the read's answer ({@code value == null}: not found) unless an invalidation or an epoch change intervened.
   * A refused answer writes nothing: refused before the compute, it leaves the key's entry as it is (another read's
   * answer may be there, and serving it keeps the cache available while degraded); refused inside it (an invalidation
   * or epoch change landing at that moment), it drops the entry rather than return it, since Caffeine counts a compute
   * that returns the entry already there as a write and restarts its age (an old entry served as young while
   * degraded, R5). A stored answer removes the key's entry in the other map (a value where "not found" is put, and the
   * reverse), so it is the key's only entry.
   *
   * @return false when it was refused for that reason (R7: the answer may predate the invalidation)
   */
  boolean complete(ReadTicket ticket, Object value) {
    Cache<String, Object> target = value == null ? notFound : values;
    Object stored = value == null ? new NotFoundEntry() : value;
    long maxAge = maxAgeNanos.getAsLong();
    boolean limited = maxAge != Long.MAX_VALUE;
    boolean tooOld = limited && ticker.read() - ticket.startNanos > maxAge;
    if (tooOld || ticket.invalidatedSinceStart() || ticket.epoch != epoch.getAsLong()) {
      return false; // refused: nothing written, and what the key holds (maybe a younger answer of another read) stays
    }
    boolean[] refused = new boolean[1];
    target.asMap().compute(ticket.key, (k, current) -> {
      // Again under the key's lock: an invalidation or an epoch change that lands right now refuses it too, and then
      // the key's entry goes (the invalidation is removing it anyway; returning it would count as a write).
      refused[0] = ticket.invalidatedSinceStart() || ticket.epoch != epoch.getAsLong();
      if (current != null) {
        forgetReadStart(k, current); // the entry this replaces or drops, and only its own (the other map's stays)
      }
      if (!refused[0] && limited) {
        readStarts.put(k, new ReadStart(ticket.startNanos, stored)); // the other map's entry now counts as too old
      }
      return refused[0] ? null : stored;
    });
    if (!refused[0]) {
      removeWithReadStart(value == null ? values : notFound, ticket.key);
    }
    return !refused[0];
  }

  /**
   * Removes the key's entry from {@code cache} and, in the same per-key step, its read start: an entry is never seen
   * without the read start it was stored with.
   */
  private void removeWithReadStart(Cache<String, Object> cache, String key) {
    cache.asMap().computeIfPresent(key, (k, entry) -> {
      forgetReadStart(k, entry);
      return null;
    });
  }

  /** Drops whatever L1 holds for the ticket's key: an answer that must not be kept (and nothing older either). */
  void drop(ReadTicket ticket) {
    removeWithReadStart(values, ticket.key);
    removeWithReadStart(notFound, ticket.key);
  }

  /** Must follow every {@link #beginRead}, in a finally block. */
  void endRead(ReadTicket ticket) {
    inFlight.computeIfPresent(ticket.key, (k, f) -> --f.readers == 0 ? null : f);
  }

  void invalidate(String key) {
    inFlight.computeIfPresent(key, (k, f) -> {
      f.invalidations.incrementAndGet();
      return f;
    });
    removeWithReadStart(values, key);
    removeWithReadStart(notFound, key);
  }

  /**
   * Drops every entry, and refuses the answer of every read in flight, whose key begins with {@code prefix}: keys this
   * cache may no longer hold (a sibling key shape of its namespace now owns them).
   */
  void invalidateStartingWith(String prefix) {
    java.util.Set<String> keys = new java.util.HashSet<>();
    for (java.util.Collection<String> source : List.of(inFlight.keySet(), values.asMap().keySet(),
        notFound.asMap().keySet())) {
      for (String key : source) {
        if (key.startsWith(prefix)) {
          keys.add(key);
        }
      }
    }
    keys.forEach(this::invalidate);
  }

  void clear() {
    inFlight.forEach((k, f) -> invalidate(k));
    // Key by key, each entry with its read start (clearing the read starts apart, before or after the maps, would
    // leave an entry stored meanwhile without its own). A read start whose entry is gone is harmless (it only makes
    // a later entry of the key look older) and goes with the key's next store or invalidation.
    for (Cache<String, Object> cache : List.of(values, notFound)) {
      for (String key : List.copyOf(cache.asMap().keySet())) {
        removeWithReadStart(cache, key);
      }
    }
  }

  /** For tests: how many reads of the key hold a ticket now (0 once every read ended). */
  int readsInFlight(String key) {
    InFlight f = inFlight.get(key);
    return f == null ? 0 : f.readers;
  }

  boolean contains(String key) {
    return values.getIfPresent(key) != null || notFound.getIfPresent(key) != null;
  }

  /**
   * For {@link L1Peek} (tests and tools): the unexpired entry as it is, the value or {@link #NOT_FOUND}, or null;
   * without side effects (no statistics, eviction order untouched, nothing dropped), whatever the degraded state.
   */
  Object peek(String key) {
    Object value = values.policy().getIfPresentQuietly(key);
    if (value != null) {
      return value;
    }
    return notFound.policy().getIfPresentQuietly(key) != null ? NOT_FOUND : null;
  }
}
