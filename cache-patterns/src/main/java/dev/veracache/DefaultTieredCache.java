package dev.veracache;

import static dev.veracache.Preconditions.notNull;

import com.github.benmanes.caffeine.cache.Cache;
import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisRecord;
import dev.veracache.testing.CacheHooks;
import dev.veracache.testing.L1Peek;

/**
 * The two-level cache behind every strategy.
 *
 * <p>Read path: L1 → (one flight per key in this JVM) → Redis GET → on a miss, a lease → the loader → a fenced fill.
 * A key whose change was pushed since its last read skips the GET (Redis most likely holds its tombstone): the lease
 * script answers a value filled since, or gives the lease ({@link L1Store#takeChanged}).
 * Records are read by {@link RedisEntries}; a miss is handled by {@link Misses} (the lease, the wait for another's
 * fill, the load and the fill, through {@link FenceProtocol}); writes by {@link CacheWrites}. Invariants:
 * <ul>
 *   <li><b>Only the lease holder fills, and only if its lease survived.</b> An invalidation rewrites the record and so
 *       cancels every lease; a fill without its lease is refused (R1, R10). A versioned fill older than the tombstone
 *       is refused too (R12 with versions).</li>
 *   <li><b>A miss that finds another's lease waits, bounded,</b> for the value (woken by the tracking push of the fill),
 *       then loads without filling (R9).</li>
 *   <li><b>L1 is written only through a {@link L1Store.ReadTicket}</b> taken before the Redis call whose answer it
 *       stores (R7); see {@link L1Store}. This client's own fills and sets, which their own push drops from L1, come
 *       back the same way: re-read from Redis under a ticket taken after that push ({@link L1Readmission}).</li>
 *   <li><b>Writes</b> (invalidations, versioned sets) follow {@link CacheWrites}'s invariants.</li>
 *   <li><b>Refresh-ahead never delays a read</b>: with {@code refreshAfterWrite} an L2 hit also reads the record's
 *       age and may queue a background reload ({@link RefreshAhead}); the L1 hit path is the same with or without.</li>
 *   <li><b>Redis failures never fail a read</b>: reads degrade to the loader (counted); failed invalidations are queued
 *       and retried ({@link PendingInvalidations}), failed fills are dropped (counted; their lease expires).</li>
 *   <li><b>A test hook that throws leaves nothing behind</b>: no lease, L1 ticket or single flight.</li>
 *   <li><b>One Redis key belongs to one cache.</b> Keys are {@code namespace:keyPrefix<encoded>}; the plain shape of a
 *       namespace refuses a key that begins with a sibling shape's prefix before it reaches Redis or L1.</li>
 * </ul>
 */
final class DefaultTieredCache<K, V> implements TieredCache<K, V>, L1Peek.Peekable<K, V> {

  private final CacheOptions<K, V> options;
  private final String prefix;
  private final InvalidationTracker tracker;
  private final PendingInvalidations pending;
  private final L1Store l1; // null when L1 is disabled
  // The L1 hit path reads these directly: each indirection saved is measurable against raw Caffeine.
  private final Cache<String, Object> l1Values;
  private final HitCounter l1Hits;
  private final CacheMetrics metrics;
  private final CacheHooks hooks;
  private final ListenerWatch.Signal listener;
  private final KeyShape shape;
  private final SingleFlight<V> singleFlight;
  private final RedisEntries<V> entries;
  private final Misses<K, V> misses;
  private final CacheWrites<K, V> writes;
  private final boolean defaultKeyEncoder;
  private final FenceProtocol fence;
  private final RefreshAhead<K, V> refresh; // null when refresh-ahead is off: the plain GET
  /** Where write-behind keeps each key's last reserved version: outside the namespace, so never tracked. */
  private final String lastReservedPrefix;
  /** The consistency inspector's sampler; null when the inspector is off (then the hit paths test only this). */
  private final InspectorSampler<K, V> sampler;

  DefaultTieredCache(CacheOptions<K, V> options, FenceProtocol fence, RedisEntries<V> entries,
      InvalidationTracker tracker, PendingInvalidations pending, InvalidationReplicas replicas, L1Store l1,
      SingleFlight<V> singleFlight,
      KeyShape shape, CacheMetrics metrics, InspectorSampler<K, V> sampler, RefreshAhead.Threads refreshThreads) {
    this.options = options;
    this.prefix = options.namespace + ":" + options.keyPrefix;
    this.tracker = tracker;
    this.pending = pending;
    this.l1 = l1;
    this.l1Values = l1 == null ? null : l1.values;
    this.l1Hits = metrics.l1Hits;
    this.metrics = metrics;
    this.hooks = options.hooks;
    this.listener = shape.signal;
    if (l1 != null) {
      l1.limitAgesBy(this::maxL1AgeNanos);
    }
    this.shape = shape;
    this.singleFlight = singleFlight;
    this.entries = entries;
    L1Readmission<V> readmission = l1 == null ? null : new L1Readmission<>(options.namespace, tracker.ownWriteRereads, l1,
        entries, tracker, pending, shape, metrics, hooks);
    this.misses = new Misses<>(options, fence, entries, tracker.keyWaiters, l1, readmission, metrics);
    this.writes = new CacheWrites<>(options, fence, pending, replicas, entries, misses, l1, readmission,
        singleFlight, metrics);
    this.defaultKeyEncoder = options.keyEncoder == CacheOptions.DEFAULT_KEY_ENCODER;
    this.fence = fence;
    this.refresh = options.refreshAfterWrite == null ? null
        : new RefreshAhead<>(options, fence, entries, misses, writes, refreshThreads);
    this.lastReservedPrefix = "veracache:wb:" + options.namespace + ":" + options.keyPrefix;
    this.sampler = sampler;
  }

  @Override
  public String namespace() {
    return options.namespace;
  }

  @Override
  @SuppressWarnings("unchecked")
  public V get(K key, CacheLoader<? super K, ? extends V> loader) {
    // The L1 hit path is kept small so that it inlines: everything else is in fromL1's slow branch and getFromRedis.
    if (key == null || loader == null) {
      throw new NullPointerException((key == null ? "key" : "loader") + " must not be null");
    }
    String local = encodeKey(key);
    if (l1Values != null) {
      Object cached = fromL1(local);
      if (cached != null) {
        l1Hits.increment();
        if (sampler != null) {
          sampler.onHit(key, local, cached, loader);
        }
        return cached == L1Store.NOT_FOUND ? null : (V) cached;
      }
      metrics.l1Misses.increment();
    }
    return getFromRedis(key, local, loader);
  }

  /**
   * L1's answer for the key (the value, or {@link L1Store#NOT_FOUND}), or null: not there, or not to be trusted now.
   * The trust state is read before and after the lookup, so the entry is judged by the state it was read in: a read
   * that straddles a change of epoch (entering or leaving degraded mode: leaving clears L1 after this lookup may have
   * taken an entry) is a miss, and a degraded state or a listener behind before the lookup bounds its age even if it
   * ended since (leaving degraded mode bumps the epoch before it clears L1 and says so, so a lookup between the two
   * sees the new epoch but the old entry; a listener's invalidations may have dropped the entry after the lookup).
   */
  private Object fromL1(String local) {
    long epochBefore = tracker.epoch;
    boolean degradedBefore = tracker.degraded;
    boolean listenerBehind = listener.untrusted;
    Object cached = l1Values.getIfPresent(local);
    if (cached == null || cached instanceof L1Store.AgedValue || degradedBefore || listenerBehind || tracker.degraded
        || listener.untrusted) {
      long maxAge = maxL1AgeNanos();
      if (degradedBefore) {
        maxAge = Math.min(maxAge, tracker.degradedTtlNanos);
      }
      if (listenerBehind) {
        maxAge = Math.min(maxAge, listener.boundNanos);
      }
      cached = l1.getSlowly(local, cached, maxAge);
    }
    return tracker.epoch == epochBefore ? cached : null;
  }

  /** How old an L1 entry may be to be served now: any age, unless invalidations may be missed or lag. */
  private long maxL1AgeNanos() {
    long max = tracker.degraded ? tracker.degradedTtlNanos : Long.MAX_VALUE;
    return listener.untrusted ? Math.min(max, listener.boundNanos) : max;
  }

  private V getFromRedis(K key, String local, CacheLoader<? super K, ? extends V> loader) {
    shape.checkOwnKey(key, local);
    return singleFlight.run(local, () -> readThroughRedis(key, local, loader)); // null ("not found") is shared too
  }

  private V readThroughRedis(K key, String local, CacheLoader<? super K, ? extends V> loader) {
    String redisKey = prefix + local;
    L1Store.ReadTicket ticket = l1 == null ? null : l1.beginRead(local);
    try {
      // Again with the ticket taken: a sibling shape registered since the first check took its keys out of this L1
      // before or after the ticket; after, the ticket refuses the answer, before, this refuses the read.
      shape.checkOwnKey(key, local);
      String bypass = redisBypassReason(redisKey);
      if (bypass != null) {
        // No push comes for a key whose invalidation is still pending: L1 must not keep that answer either.
        return misses.degradedLoad(key, redisKey, loader, INVALIDATION_PENDING.equals(bypass) ? null : ticket, bypass);
      }
      if (refresh == null && ticket != null && l1.takeChanged(local)) {
        // Its change was pushed since it was last read: Redis most likely holds its tombstone, so a GET would only
        // say "miss". Ask for the lease at once (the lease script answers a value filled since, as a GET would): a
        // miss in two round trips (lease, fill) instead of three.
        Misses.LeaseOutcome<V> outcome = misses.leaseOrAnswer(redisKey);
        if (outcome instanceof Misses.Answered<V> answered && !answered.afterWait()) {
          return servedFromRedis(key, local, redisKey, loader, ticket, answered.value()); // what a GET would have read
        }
        metrics.l2Misses.increment();
        return misses.afterLeaseAttempt(key, redisKey, loader, ticket, outcome);
      }
      Lookup<V> found;
      try {
        found = refresh == null ? entries.read(redisKey) : refresh.read(key, local, redisKey, loader);
      } catch (L2Failure e) {
        return misses.degradedLoad(key, redisKey, loader, ticket, e.getMessage());
      }
      if (found instanceof Lookup.Hit<V> hit) {
        return servedFromRedis(key, local, redisKey, loader, ticket, hit.value());
      }
      metrics.l2Misses.increment();
      return misses.underLease(key, redisKey, loader, ticket);
    } finally {
      if (ticket != null) {
        l1.endRead(ticket);
      }
    }
  }

  /** An answer Redis held (an L2 hit): counted, sampled, and kept in L1 if no invalidation overtook the read (R7). */
  private V servedFromRedis(K key, String local, String redisKey, CacheLoader<? super K, ? extends V> loader,
      L1Store.ReadTicket ticket, V value) {
    hooks.afterRedisRead(redisKey);
    metrics.l2Hits.increment();
    if (sampler != null) {
      sampler.onHit(key, local, value, loader);
    }
    hooks.fenceDecided(redisKey, misses.remember(ticket, value));
    return value;
  }

  private static final String INVALIDATION_PENDING = "an invalidation of this key is still pending";

  /** Why a read of the key must not use Redis now (a degraded load instead), or null when it may. */
  private String redisBypassReason(String redisKey) {
    if (tracker.redisUnsafe) {
      return "Redis cannot take invalidations (heartbeat failed)";
    }
    if (listener.untrusted) {
      return "the CDC listener is too far behind (or not known)";
    }
    return !pending.isEmpty() && !pending.settle(redisKey) ? INVALIDATION_PENDING : null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public SplitRead<V> beginRead(K key) {
    notNull(key, "key");
    String local = encodeKey(key);
    if (l1Values != null) {
      Object cached = fromL1(local); // the same L1 trust rules as get
      if (cached != null) {
        l1Hits.increment();
        return SplitRead.found(cached == L1Store.NOT_FOUND ? null : (V) cached);
      }
      metrics.l1Misses.increment();
    }
    shape.checkOwnKey(key, local);
    String redisKey = prefix + local;
    L1Store.ReadTicket ticket = l1 == null ? null : l1.beginRead(local);
    try {
      shape.checkOwnKey(key, local); // again with the ticket taken: see readThroughRedis
      Lookup<V> found;
      try {
        found = redisBypassReason(redisKey) != null ? null : entries.read(redisKey);
      } catch (L2Failure e) {
        found = null;
      }
      if (found == null) { // Redis is bypassed, as in readThroughRedis: the caller loads; nothing is filled
        metrics.degradedReads.increment();
        return SplitRead.uncached();
      }
      if (found instanceof Lookup.Hit<V> hit) {
        hooks.afterRedisRead(redisKey);
        metrics.l2Hits.increment();
        hooks.fenceDecided(redisKey, misses.remember(ticket, hit.value()));
        return SplitRead.found(hit.value());
      }
      metrics.l2Misses.increment();
      Misses.LeaseOutcome<V> outcome = misses.leaseOrAnswer(redisKey);
      if (outcome instanceof Misses.Answered<V> answered) {
        misses.remember(ticket, answered.value());
        return SplitRead.found(answered.value());
      } else if (outcome instanceof Misses.Leased<V> leased) {
        return SplitRead.leased(misses, leased.lease());
      } else if (outcome instanceof Misses.Bypassed<V>) {
        metrics.degradedReads.increment();
      }
      return SplitRead.uncached();
    } finally {
      if (ticket != null) {
        l1.endRead(ticket);
      }
    }
  }

  @Override
  public void invalidateAll() {
    writes.invalidateAll(prefix);
  }

  @Override
  public void invalidate(K key) {
    invalidate(key, Invalidation.unversioned());
  }

  @Override
  public void invalidate(K key, long version) {
    invalidate(key, version == RedisRecord.NO_VERSION ? Invalidation.unversioned() : writes.versioned(version, false));
  }

  @Override
  public void invalidateDeleted(K key, long deletedVersion) {
    invalidate(key, writes.versioned(deletedVersion, true));
  }

  private void invalidate(K key, Invalidation invalidation) {
    notNull(key, "key");
    String local = encodeKey(key);
    shape.checkOwnKey(key, local);
    writes.invalidate(local, prefix + local, invalidation);
  }

  @Override
  public boolean put(K key, V value) {
    notNull(key, "key");
    notNull(value, "value");
    if (options.versionOf == null) {
      throw new IllegalStateException("cache '" + options.namespace + "': put needs versioned values; set "
          + "CacheOptions.Builder.version(...)");
    }
    String local = encodeKey(key);
    shape.checkOwnKey(key, local);
    return writes.put(local, prefix + local, value);
  }

  // ---- write-behind (WriteBehindCache): the log sits between the reserve and the store ----

  /** The key as the log carries it (checked like every key of this cache). */
  String localKey(K key) {
    notNull(key, "key");
    String local = encodeKey(key);
    shape.checkOwnKey(key, local);
    return local;
  }

  /** Reserves the next version of an encoded key and fences it there; drops the key from this JVM's L1 first. */
  long reserveVersion(String local, long fenceTtlMillis) {
    if (l1 != null) {
      l1.invalidate(local);
    }
    singleFlight.detach(local);
    return fence.reserve(prefix + local, lastReservedPrefix + local, fenceTtlMillis);
  }

  /**
   * Caches a logged write at its reserved version for {@code pendingTtlMillis} (the flusher's fence gives it the
   * normal lifetime once the database has it): {@code payload} of {@code value} as "V:version", or for a delete "not
   * found" as "N:version+1" (the floor of a delete at that version, as CDC and the flusher's fence write it).
   */
  boolean storeLogged(String local, V value, long version, byte[] payload, long pendingTtlMillis) {
    if (value == null) {
      return writes.storeLogged(local, prefix + local, null, version + 1, RedisRecord.negative(version + 1),
          pendingTtlMillis);
    }
    return writes.storeLogged(local, prefix + local, value, version, RedisRecord.value(version, payload),
        pendingTtlMillis);
  }

  private String encodeKey(K key) {
    if (defaultKeyEncoder && key instanceof String s) {
      return s; // the L1 hit path: no encoder call for the common case
    }
    return encodeKeySlowly(key);
  }

  private String encodeKeySlowly(K key) {
    String local = options.keyEncoder.apply(key);
    if (local == null) {
      throw new IllegalArgumentException("cache '" + options.namespace + "': keyEncoder turned key " + key
          + " into null");
    }
    return local;
  }

  /** For tests: whether this JVM's L1 holds the key. */
  boolean inL1(K key) {
    return l1 != null && l1.contains(encodeKey(key));
  }

  /** For tests: how many reads of the key hold an L1 ticket now. */
  int l1ReadsInFlight(K key) {
    return l1 == null ? 0 : l1.readsInFlight(encodeKey(key));
  }

  /** For {@link L1Peek} only (an unsupported test seam): the L1 entry as it is; see there. */
  @Override
  @SuppressWarnings("unchecked")
  public L1Peek.Entry<V> peekL1(K key) {
    notNull(key, "key");
    Object entry = l1 == null ? null : l1.peek(encodeKey(key));
    if (entry == null) {
      return L1Peek.Entry.absent();
    }
    return new L1Peek.Entry<>(true, entry == L1Store.NOT_FOUND ? null : (V) entry);
  }
}
