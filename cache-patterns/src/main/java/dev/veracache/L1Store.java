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
 *       stored while a limit was in force: it is stored wrapped with when its read began ({@link AgedValue},
 *       {@link NotFoundEntry}), since it may have been read long before it was stored (a slow load), and no
 *       invalidation could refuse it meanwhile. The read start lives in the entry, so it is published, replaced and
 *       removed with it in one step; an answer whose read began longer ago than the limit is not stored at all. An
 *       entry aged by Caffeine is only served if the key still holds it: a fresher entry never lends an old one its
 *       age.</li>
 *   <li><b>Removals wait for a store in progress</b>: entries are removed with {@code compute}, which takes the key's
 *       lock, never with Caffeine's {@code computeIfPresent}/{@code remove}, whose lock-free fast path sees a key that
 *       a concurrent {@code compute} is inserting as absent and removes nothing (an invalidation lost, R7).</li>
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

  /** An entry's read start when it is aged from its store (by Caffeine) instead. */
  private static final long AGED_FROM_STORE = Long.MIN_VALUE;

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

  /**
   * A value stored while an age limit was in force, with when its read began: one object per store, so it is known by
   * identity (equals is identity). The hit path sends it to {@link #getSlowly}, which unwraps it.
   */
  static final class AgedValue {
    final Object value;
    final long readStartNanos;

    private AgedValue(Object value, long readStartNanos) {
      this.value = value;
      this.readStartNanos = readStartNanos;
    }
  }

  /**
   * What the not-found map holds: one object per stored answer (known by identity), with its read start when it was
   * stored under a limit ({@link #AGED_FROM_STORE} otherwise).
   */
  private static final class NotFoundEntry {
    final long readStartNanos;

    NotFoundEntry(long readStartNanos) {
      this.readStartNanos = readStartNanos;
    }
  }

  // Values stored without a limit are stored as they are (no wrapper), so a hit is one Caffeine lookup and no extra
  // dereference; "not found" lives in its own map with its own (shorter) expiry.
  final Cache<String, Object> values; // read directly by DefaultTieredCache on the hit path
  private final Cache<String, Object> notFound;
  private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  /**
   * Keys this L1 held (or was reading) when they were invalidated here ({@link #invalidate}: a push, or this client's
   * own write): Redis most likely holds their tombstone, so their next miss asks for the lease at once
   * ({@link #takeChanged}). Only a hint: a wrong one costs a script where a GET would do (the lease script also
   * answers a value), never an answer. Keys this L1 never held (another instance's fill pushed to us) are not marked.
   */
  private final Cache<String, Boolean> changed;
  /** The tracker's epoch: it changes whenever invalidations may have been lost. */
  private final LongSupplier epoch;
  private final Ticker ticker;
  /** How old an entry may be to be served now ({@code Long.MAX_VALUE}: any); see {@link #limitAgesBy}. */
  private volatile LongSupplier maxAgeNanos = () -> Long.MAX_VALUE;

  L1Store(long maximumSize, Duration ttl, Duration negativeTtl, Ticker ticker, LongSupplier epoch) {
    this.values = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(ttl).ticker(ticker).build();
    this.notFound = Caffeine.newBuilder().maximumSize(maximumSize)
        .expireAfterWrite(negativeTtl.compareTo(ttl) < 0 ? negativeTtl : ttl).ticker(ticker).build();
    this.changed = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(ttl).build();
    this.epoch = epoch;
    this.ticker = ticker;
  }

  /** Whether the key was invalidated here since its last read from Redis (and forgets it): see {@link #changed}. */
  boolean takeChanged(String key) {
    return changed.asMap().remove(key) != null;
  }

  /**
   * Wires the cache's current age limit (degraded, listener behind) in, for {@link #complete}; the reads pass the same
   * limit to {@link #getSlowly}. Set once, by the cache that owns this L1.
   */
  void limitAgesBy(LongSupplier maxAgeNanos) {
    this.maxAgeNanos = maxAgeNanos;
  }

  /**
   * The rest of an L1 read, after the hit path (in {@code DefaultTieredCache}, which reads {@link #values} directly)
   * found no value, an {@link AgedValue}, or is in degraded mode. {@code value} is what {@link #values} held, maybe
   * null. Returns the value to serve, {@link #NOT_FOUND}, or null (not in L1, or not trusted now).
   */
  Object getSlowly(String key, Object value, long maxAgeNanos) {
    if (value != null) {
      if (!youngEnough(values, key, value, maxAgeNanos)) {
        return null;
      }
      return value instanceof AgedValue aged ? aged.value : value;
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
   * {@code entry} is the one the caller read. One stored under a limit is aged from its own read start. One aged by
   * Caffeine is served only if the key still holds it: Caffeine knows the age of the key's entry, and if that is
   * another by now (a fresher answer stored meanwhile), {@code entry}'s own age is no longer known.
   */
  private boolean youngEnough(Cache<String, Object> cache, String key, Object entry, long maxAgeNanos) {
    if (maxAgeNanos == Long.MAX_VALUE) {
      return true;
    }
    long readStart = readStartOf(entry);
    boolean young;
    if (readStart != AGED_FROM_STORE) {
      young = ticker.read() - readStart <= maxAgeNanos;
    } else {
      OptionalLong age = cache.policy().expireAfterWrite()
          .map(policy -> policy.ageOf(key, TimeUnit.NANOSECONDS)).orElse(OptionalLong.empty());
      young = age.isPresent() && age.getAsLong() <= maxAgeNanos && cache.policy().getIfPresentQuietly(key) == entry;
    }
    if (!young) {
      // Only that entry goes: wrappers are equal only to themselves; a plain value equal to it stored meanwhile may go
      // too, which is safe. (Not a compute that returns the entry it finds: Caffeine counts that as a write and the
      // entry would look young.) Removing a too-old entry needs no lock: an entry stored meanwhile is not it.
      cache.asMap().remove(key, entry);
    }
    return young;
  }

  private static long readStartOf(Object entry) {
    if (entry instanceof AgedValue aged) {
      return aged.readStartNanos;
    }
    return entry instanceof NotFoundEntry negative ? negative.readStartNanos : AGED_FROM_STORE;
  }

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
   * Puts the read's answer ({@code value == null}: not found) unless an invalidation or an epoch change intervened;
   * under an age limit, wrapped with its read start. A refused answer writes nothing: refused before the compute, it
   * leaves the key's entry as it is (another read's answer may be there, and serving it keeps the cache available while
   * degraded); refused inside it (an invalidation or epoch change landing at that moment), it drops the entry rather
   * than return it, since Caffeine counts a compute that returns the entry already there as a write and restarts its
   * age (an old entry served as young while degraded, R5). A stored answer removes the key's entry in the other map (a
   * value where "not found" is put, and the reverse), so it is the key's only entry.
   *
   * @return false when it was refused for that reason (R7: the answer may predate the invalidation)
   */
  boolean complete(ReadTicket ticket, Object value) {
    long maxAge = maxAgeNanos.getAsLong();
    boolean limited = maxAge != Long.MAX_VALUE;
    boolean tooOld = limited && ticker.read() - ticket.startNanos > maxAge;
    if (tooOld || ticket.invalidatedSinceStart() || ticket.epoch != epoch.getAsLong()) {
      return false; // refused: nothing written, and what the key holds (maybe a younger answer of another read) stays
    }
    long readStart = limited ? ticket.startNanos : AGED_FROM_STORE;
    Cache<String, Object> target = value == null ? notFound : values;
    Object stored = value == null ? new NotFoundEntry(readStart)
        : limited ? new AgedValue(value, readStart) : value;
    boolean[] refused = new boolean[1];
    target.asMap().compute(ticket.key, (k, current) -> {
      // Again under the key's lock: an invalidation or an epoch change that lands right now refuses it too, and then
      // the key's entry goes (the invalidation is removing it anyway; returning it would count as a write).
      refused[0] = ticket.invalidatedSinceStart() || ticket.epoch != epoch.getAsLong();
      return refused[0] ? null : stored;
    });
    if (!refused[0]) {
      remove(value == null ? values : notFound, ticket.key);
    }
    return !refused[0];
  }

  /**
   * Removes the key's entry from {@code cache}, waiting for a store of the key in progress (see the invariants); whether
   * there was one.
   */
  private static boolean remove(Cache<String, Object> cache, String key) {
    boolean[] present = new boolean[1];
    cache.asMap().compute(key, (k, entry) -> {
      present[0] = entry != null;
      return null;
    });
    return present[0];
  }

  /** Drops whatever L1 holds for the ticket's key: an answer that must not be kept (and nothing older either). */
  void drop(ReadTicket ticket) {
    remove(values, ticket.key);
    remove(notFound, ticket.key);
  }

  /** Must follow every {@link #beginRead}, in a finally block. */
  void endRead(ReadTicket ticket) {
    inFlight.computeIfPresent(ticket.key, (k, f) -> --f.readers == 0 ? null : f);
  }

  void invalidate(String key) {
    boolean[] held = new boolean[1];
    inFlight.computeIfPresent(key, (k, f) -> {
      f.invalidations.incrementAndGet();
      held[0] = true;
      return f;
    });
    held[0] |= remove(values, key);
    held[0] |= remove(notFound, key);
    if (held[0]) {
      changed.put(key, Boolean.TRUE); // only a key this L1 held or was reading: others are read with a GET first
    }
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

  /**
   * Drops every entry and refuses every read in flight. A store in progress belongs to a read in flight, so
   * invalidating those keys (which waits for the store) covers it; every other entry is published already.
   */
  void clear() {
    inFlight.forEach((k, f) -> invalidate(k));
    values.invalidateAll();
    notFound.invalidateAll();
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
      return value instanceof AgedValue aged ? aged.value : value;
    }
    return notFound.policy().getIfPresentQuietly(key) != null ? NOT_FOUND : null;
  }
}
