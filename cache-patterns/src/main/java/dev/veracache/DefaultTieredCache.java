package dev.veracache;

import static dev.veracache.PendingInvalidations.ascii;
import static dev.veracache.Preconditions.notNull;

import com.github.benmanes.caffeine.cache.Cache;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two-level cache behind every strategy.
 *
 * <p>Read path: L1 → (one flight per key in this JVM) → Redis GET → on a miss, a lease (acquire.lua) → the loader →
 * a fenced fill (fill.lua). Invariants:
 * <ul>
 *   <li><b>Only the lease holder fills, and only if its lease survived.</b> An invalidation rewrites the record and so
 *       cancels every lease; a fill without its lease is refused (R1, R10). A versioned fill older than the tombstone
 *       is refused too (R12 with versions).</li>
 *   <li><b>Versioned sets never go back in time</b> (put.lua, R4).</li>
 *   <li><b>A miss that finds another's lease waits, bounded,</b> for the value (woken by the tracking push of the fill),
 *       then loads without filling (R9).</li>
 *   <li><b>L1 is written only through a {@link L1Store.ReadTicket}</b> taken before the Redis call whose answer it
 *       stores (R7); see {@link L1Store}.</li>
 *   <li><b>Own invalidations drop L1 before and after the Redis call</b>: before, so this JVM stops serving the old
 *       value at once; after, because a read that started in between may have fetched the old value, and this client
 *       must not count on the push of its own write (Redis 6.2 and 7.0 push script writes back despite NOLOOP,
 *       redis#11052, but NOLOOP is meant to spare them).</li>
 *   <li><b>Redis failures never fail a read</b>: reads degrade to the loader (counted); failed invalidations are queued
 *       and retried ({@link PendingInvalidations}), failed fills are dropped (counted; their lease expires).</li>
 *   <li><b>One Redis key belongs to one cache.</b> Keys are {@code namespace:keyPrefix<encoded>}; the plain shape of a
 *       namespace refuses a key that begins with a sibling shape's prefix before it reaches Redis or L1.</li>
 * </ul>
 */
final class DefaultTieredCache<K, V> implements TieredCache<K, V> {

  private static final Logger log = LoggerFactory.getLogger(DefaultTieredCache.class);
  private static final long WAIT_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final CacheOptions<K, V> options;
  private final String prefix;
  private final RedisLink link;
  private final InvalidationTracker tracker;
  private final PendingInvalidations pending;
  private final L1Store l1; // null when L1 is disabled
  // The L1 hit path reads these directly: each indirection saved is measurable against raw Caffeine.
  private final Cache<String, Object> l1Values;
  private final HitCounter l1Hits;
  private final CacheMetrics metrics;
  private final CacheHooks hooks;
  private final ListenerWatch.Signal listener;
  private final InvalidationTracker.KeyShape shape;
  private final SingleFlight<Optional<V>> singleFlight;
  private final byte[] leaseTtlArg;
  private final long tombstoneTtlMillis;
  private final byte[] tombstoneTtlArg;
  private final long leaseWaitNanos;
  private final boolean defaultKeyEncoder;

  DefaultTieredCache(CacheOptions<K, V> options, RedisLink link, InvalidationTracker tracker,
      PendingInvalidations pending, L1Store l1, SingleFlight<Optional<V>> singleFlight,
      InvalidationTracker.KeyShape shape, CacheMetrics metrics) {
    this.options = options;
    this.prefix = options.namespace + ":" + options.keyPrefix;
    this.shape = shape;
    this.link = link;
    this.tracker = tracker;
    this.pending = pending;
    this.l1 = l1;
    this.l1Values = l1 == null ? null : l1.values;
    this.l1Hits = metrics.l1Hits;
    this.metrics = metrics;
    this.hooks = options.hooks;
    this.leaseTtlArg = ascii(options.leaseTtl.toMillis());
    this.tombstoneTtlMillis = options.tombstoneTtl.toMillis();
    this.tombstoneTtlArg = ascii(tombstoneTtlMillis);
    this.singleFlight = singleFlight;
    this.listener = shape.signal;
    this.leaseWaitNanos = options.leaseWaitTimeout.toNanos();
    this.defaultKeyEncoder = options.keyEncoder == CacheOptions.DEFAULT_KEY_ENCODER;
  }

  @Override
  public String namespace() {
    return options.namespace;
  }

  @Override
  @SuppressWarnings("unchecked")
  public V get(K key, CacheLoader<? super K, ? extends V> loader) {
    // The L1 hit path is kept small so that it inlines: everything else is in getFromRedis.
    if (key == null || loader == null) {
      throw new NullPointerException((key == null ? "key" : "loader") + " must not be null");
    }
    String local = encodeKey(key);
    if (l1Values != null) {
      Object cached = l1Values.getIfPresent(local);
      if (cached == null || tracker.degraded || listener.untrusted) {
        cached = l1.getSlowly(local, cached, maxL1AgeNanos());
      }
      if (cached != null) {
        l1Hits.increment();
        return cached == L1Store.NOT_FOUND ? null : (V) cached;
      }
      metrics.l1Misses.increment();
    }
    return getFromRedis(key, local, loader);
  }

  /** How old an L1 entry may be to be served now: any age, unless invalidations may be missed or lag. */
  private long maxL1AgeNanos() {
    long max = Long.MAX_VALUE;
    if (tracker.degraded) {
      max = tracker.degradedTtlNanos;
    }
    if (listener.untrusted) {
      max = Math.min(max, listener.boundNanos);
    }
    return max;
  }

  private V getFromRedis(K key, String local, CacheLoader<? super K, ? extends V> loader) {
    checkOwnKey(key, local);
    return singleFlight.run(local, () -> Optional.ofNullable(readThroughRedis(key, local, loader))).orElse(null);
  }

  private V readThroughRedis(K key, String local, CacheLoader<? super K, ? extends V> loader) {
    String redisKey = prefix + local;
    L1Store.ReadTicket ticket = l1 == null ? null : l1.beginRead(local);
    try {
      // Again with the ticket taken: a sibling shape registered since the first check took its keys out of this L1
      // before or after the ticket; after, the ticket refuses the answer, before, this refuses the read.
      checkOwnKey(key, local);
      if (tracker.redisUnsafe) {
        return degradedLoad(key, redisKey, loader, ticket, "Redis cannot take invalidations (heartbeat failed)");
      }
      if (listener.untrusted) {
        return degradedLoad(key, redisKey, loader, ticket, "the CDC listener is too far behind (or not known)");
      }
      if (!pending.isEmpty() && !pending.settle(redisKey)) {
        // No push will come for this key while Redis refuses its invalidation: L1 must not keep the answer either.
        return degradedLoad(key, redisKey, loader, null, "an invalidation of this key is still pending");
      }
      byte[] raw;
      try {
        raw = getRecord(redisKey);
      } catch (L2Failure e) {
        return degradedLoad(key, redisKey, loader, ticket, e.getMessage());
      }
      Optional<V> cached = raw == null ? null : decode(redisKey, raw);
      if (cached != null) {
        hooks.afterRedisRead(redisKey);
        metrics.l2Hits.increment();
        hooks.fenceDecided(redisKey, remember(ticket, cached.orElse(null)));
        return cached.orElse(null);
      }
      metrics.l2Misses.increment();
      return missUnderLease(key, redisKey, loader, ticket);
    } finally {
      if (ticket != null) {
        l1.endRead(ticket);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private V missUnderLease(K key, String redisKey, CacheLoader<? super K, ? extends V> loader,
      L1Store.ReadTicket ticket) {
    long deadline = System.nanoTime() + leaseWaitNanos;
    long waitStart = 0;
    boolean sawUnreadable = false;
    while (true) {
      long token = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
      List<Object> reply;
      try {
        reply = (List<Object>) link.run(FenceScript.ACQUIRE, redisKey, ascii(token), leaseTtlArg);
      } catch (L2Failure e) {
        return degradedLoad(key, redisKey, loader, ticket, e.getMessage());
      }
      long code = (Long) reply.get(0);
      if (code == 1) {
        return loadAndFill(key, redisKey, token, loader, ticket);
      }
      if (code == 2) {
        Optional<V> present = decode(redisKey, (byte[]) reply.get(1));
        if (present != null) {
          recordWait(waitStart, true);
          remember(ticket, present.orElse(null));
          return present.orElse(null);
        }
        if (sawUnreadable) {
          return degradedLoad(key, redisKey, loader, ticket, "the Redis entry stays unreadable");
        }
        sawUnreadable = true;
        continue; // the unreadable record was just invalidated: try the lease again
      }
      // code 0: another caller, maybe in another JVM, holds the lease and is loading.
      long now = System.nanoTime();
      if (waitStart == 0) {
        waitStart = now;
        hooks.beforeLeaseWait(redisKey);
      }
      if (now - deadline >= 0) {
        recordWait(waitStart, false);
        return load(key, redisKey, loader); // without filling: the lease holder will
      }
      CompletableFuture<Void> change = tracker.awaitChange(redisKey);
      try {
        byte[] raw;
        try {
          raw = getRecord(redisKey); // read after registering, so a fill landing in between is not missed
        } catch (L2Failure e) {
          return degradedLoad(key, redisKey, loader, ticket, e.getMessage());
        }
        Optional<V> filled = raw == null ? null : decode(redisKey, raw);
        if (filled != null) {
          recordWait(waitStart, true);
          remember(ticket, filled.orElse(null));
          return filled.orElse(null);
        }
        if (raw != null && leaseRecorded(raw)) {
          change.get(Math.min(deadline - System.nanoTime(), WAIT_POLL_NANOS), TimeUnit.NANOSECONDS);
        }
        // No record or no lease any more (released, or cancelled by an invalidation): take the lease at once.
      } catch (TimeoutException e) {
        // poll again: tracking pushes do not arrive while degraded
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new VeracacheException("cache '" + options.namespace + "': interrupted while waiting for the fill of '"
            + redisKey + "'", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException(e); // never completed exceptionally
      } finally {
        tracker.stopWaiting(redisKey, change);
      }
    }
  }

  /** GET; a key of another type under our namespace is foreign: it is reported, removed, and read as absent. */
  private byte[] getRecord(String redisKey) {
    try {
      return link.get(redisKey);
    } catch (L2Failure e) {
      if (e.reason != FailureReason.WRONGTYPE) {
        throw e;
      }
      unreadable(redisKey, e);
      return null;
    }
  }

  private static boolean leaseRecorded(byte[] raw) {
    try {
      return RedisRecord.parse(raw).leaseRecorded();
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private V loadAndFill(K key, String redisKey, long token, CacheLoader<? super K, ? extends V> loader,
      L1Store.ReadTicket ticket) {
    V value;
    byte[] record;
    long version;
    try {
      value = load(key, redisKey, loader);
      hooks.afterLoad(redisKey);
      if (value == null && !options.cacheNegatives) {
        releaseLease(redisKey, token);
        return null;
      }
      version = value == null ? RedisRecord.NO_VERSION : versionOrFailed(redisKey, value);
      record = version == VERSION_FAILED ? null : value == null ? NEGATIVE_FILL : encodeRecordOrNull(redisKey, value,
          version);
    } catch (RuntimeException | Error e) {
      releaseLease(redisKey, token); // a failed load or hook leaves no lease behind for others to wait on
      throw e;
    }
    if (record == null) {
      releaseLease(redisKey, token);
      return value;
    }
    long ttlMillis = value == null ? options.negativeTtl.toMillis() : jitteredTtlMillis();
    long result;
    try {
      result = (Long) ((List<?>) link.run(FenceScript.FILL, redisKey, ascii(token), ascii(version), record,
          ascii(ttlMillis))).get(0);
    } catch (L2Failure e) {
      metrics.fillFailed.increment();
      log.warn("cache '{}': fill of '{}' not stored, serving the loaded value uncached: {}", options.namespace,
          redisKey, e.getMessage());
      return value;
    }
    hooks.fenceDecided(redisKey, result == 1);
    if (result == 1) {
      metrics.fillStored.increment();
      rememberOwnWrite(ticket, value);
    } else if (result == 0) {
      metrics.fillRefusedLease.increment();
      log.debug("cache '{}': fill of '{}' refused, its lease was cancelled by an invalidation", options.namespace,
          redisKey);
    } else if (result == -2) {
      metrics.fillRefusedVersion.increment();
      log.debug("cache '{}': fill of '{}' version {} refused, older than the tombstone", options.namespace, redisKey,
          version);
    } else {
      metrics.fillRefusedPresent.increment();
    }
    return value;
  }

  /** What fill.lua takes as the record of a "not found": the script writes it with the floor it finds. */
  private static final byte[] NEGATIVE_FILL = new byte[0];
  private static final long VERSION_FAILED = Long.MIN_VALUE;

  /** The value's version, or VERSION_FAILED when the extractor threw or gave a negative number (logged, counted). */
  private long versionOrFailed(String redisKey, V value) {
    try {
      return versionOf(value);
    } catch (RuntimeException e) {
      metrics.codecErrors.increment();
      log.warn("cache '{}': the version of the value loaded for '{}' cannot be read ({}); serving it, not caching it",
          options.namespace, redisKey, e.toString());
      return VERSION_FAILED;
    }
  }

  private V load(K key, String redisKey, CacheLoader<? super K, ? extends V> loader) {
    long start = System.nanoTime();
    try {
      V value = loader.load(key);
      metrics.loadSuccess.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return value;
    } catch (Exception e) {
      metrics.loadFailure.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new CacheLoaderException("cache '" + options.namespace + "': loader failed for key '" + redisKey + "': "
          + e, e);
    }
  }

  private V degradedLoad(K key, String redisKey, CacheLoader<? super K, ? extends V> loader,
      L1Store.ReadTicket ticket, String why) {
    metrics.degradedReads.increment();
    log.debug("cache '{}': reading '{}' from the loader, Redis is bypassed: {}", options.namespace, redisKey, why);
    V value = load(key, redisKey, loader);
    remember(ticket, value);
    return value;
  }

  private void releaseLease(String redisKey, long token) {
    try {
      link.run(FenceScript.RELEASE, redisKey, ascii(token));
    } catch (L2Failure e) {
      log.debug("cache '{}': lease on '{}' not released ({}); it expires by itself", options.namespace, redisKey,
          e.getMessage());
    }
  }

  @Override
  public void invalidate(K key) {
    invalidate(key, Invalidation.unversioned());
  }

  @Override
  public void invalidate(K key, long version) {
    invalidate(key, version == RedisRecord.NO_VERSION ? Invalidation.unversioned() : versioned(version, false));
  }

  @Override
  public void invalidateDeleted(K key, long deletedVersion) {
    invalidate(key, versioned(deletedVersion, true));
  }

  private Invalidation versioned(long version, boolean deleted) {
    if (version < 0) {
      throw new IllegalArgumentException("cache '" + options.namespace + "': version must be >= 0"
          + (deleted ? "" : " (or -1 for none)") + ", was " + version);
    }
    return deleted ? Invalidation.deleted(version) : Invalidation.changed(version);
  }

  private void invalidate(K key, Invalidation invalidation) {
    notNull(key, "key");
    String local = encodeKey(key);
    checkOwnKey(key, local);
    String redisKey = prefix + local;
    if (l1 != null) {
      l1.invalidate(local);
    }
    singleFlight.detach(local);
    try {
      pending.apply(redisKey, invalidation, tombstoneTtlMillis);
      metrics.invalidationsApplied.increment();
    } catch (L2Failure e) {
      pending.enqueue(redisKey, invalidation, tombstoneTtlMillis);
      metrics.invalidationsQueued.increment();
      log.warn("cache '{}': invalidation of '{}' ({}) not taken by Redis, queued for retry: {}", options.namespace,
          redisKey, invalidation, e.getMessage());
    }
    if (l1 != null) {
      l1.invalidate(local);
    }
  }

  @Override
  public boolean put(K key, V value) {
    notNull(key, "key");
    notNull(value, "value");
    if (options.versionOf == null) {
      throw new IllegalStateException("cache '" + options.namespace + "': put needs versioned values; set "
          + "CacheOptions.Builder.version(...)");
    }
    long version;
    try {
      version = versionOf(value);
    } catch (RuntimeException e) {
      // The database already has the write: the old value must not stay cached anywhere.
      invalidate(key);
      throw e;
    }
    String local = encodeKey(key);
    checkOwnKey(key, local);
    String redisKey = prefix + local;
    byte[] record = encodeRecordOrNull(redisKey, value, version);
    if (record == null) {
      invalidate(key, versioned(version, false));
      return false;
    }
    if (l1 != null) {
      l1.invalidate(local);
    }
    singleFlight.detach(local); // a read after this returns must not join a load that may have read the old row
    L1Store.ReadTicket ticket = l1 == null ? null : l1.beginRead(local);
    try {
      hooks.beforeVersionedSet(redisKey, version);
      long result;
      try {
        result = (Long) ((List<?>) link.run(FenceScript.PUT, redisKey, ascii(version), record,
            ascii(jitteredTtlMillis()), tombstoneTtlArg)).get(0);
      } catch (L2Failure e) {
        log.warn("cache '{}': set of '{}' version {} not taken by Redis, invalidating instead: {}",
            options.namespace, redisKey, version, e.getMessage());
        invalidate(key, versioned(version, false));
        return false;
      }
      hooks.fenceDecided(redisKey, result != 0 && result != 3);
      if (result == 0) {
        metrics.putRefusedVersion.increment();
        return false;
      }
      if (result == 3) {
        metrics.putNoFloor.increment();
        log.debug("cache '{}': set of '{}' version {} not cached: the key holds no version to prove it is the newest "
            + "(a tombstone at version {} is left; the next read loads the row)", options.namespace, redisKey, version,
            version);
        return false;
      }
      metrics.putStored.increment();
      rememberOwnWrite(ticket, value);
      return true;
    } finally {
      if (ticket != null) {
        l1.endRead(ticket);
      }
    }
  }

  /**
   * Puts a read's answer in L1 unless an invalidation overtook it; a refusal is counted (R7).
   *
   * @return whether it was kept (true without an L1)
   */
  private boolean remember(L1Store.ReadTicket ticket, V value) {
    if (ticket != null && !l1.complete(ticket, value)) {
      metrics.l1FillRefused.increment();
      return false;
    }
    return true;
  }

  /**
   * The same after this client's own fill or set: Redis 6.2 and 7.0 push a client's own script writes back to it
   * despite NOLOOP, so the answer is usually refused by its own write's push. That is not an overtaking invalidation,
   * so it is not counted.
   */
  private void rememberOwnWrite(L1Store.ReadTicket ticket, V value) {
    if (ticket != null) {
      l1.complete(ticket, value);
    }
  }

  /**
   * The cached answer: {@code Optional.empty()} for a cached "not found", {@code null} when the record is a tombstone
   * or lease (a miss) or unreadable (counted, logged and invalidated, then a miss).
   */
  private Optional<V> decode(String redisKey, byte[] raw) {
    RedisRecord record;
    try {
      record = RedisRecord.parse(raw);
    } catch (IllegalArgumentException e) {
      return unreadable(redisKey, e);
    }
    switch (record.kind) {
      case NEGATIVE:
        return Optional.empty();
      case TOMBSTONE:
        return null;
      default:
        try {
          return Optional.of(options.codec.decode(record.payload()));
        } catch (Exception e) {
          return unreadable(redisKey, e);
        }
    }
  }

  private Optional<V> unreadable(String redisKey, Exception e) {
    metrics.codecErrors.increment();
    log.warn("cache '{}': the Redis entry '{}' cannot be decoded ({}); invalidating it and reading the loader",
        options.namespace, redisKey, e.toString());
    try {
      pending.apply(redisKey, Invalidation.unversioned(), tombstoneTtlMillis);
    } catch (L2Failure failure) {
      pending.enqueue(redisKey, Invalidation.unversioned(), tombstoneTtlMillis);
    }
    return null;
  }

  /** The record to store, or null when the value cannot be cached (codec failure or too large: logged, counted). */
  private byte[] encodeRecordOrNull(String redisKey, V value, long version) {
    byte[] payload;
    try {
      payload = options.codec.encode(value);
    } catch (Exception e) {
      metrics.codecErrors.increment();
      log.warn("cache '{}': value for '{}' cannot be encoded, not caching it: {}", options.namespace, redisKey,
          e.toString());
      return null;
    }
    if (payload == null) {
      metrics.codecErrors.increment();
      log.warn("cache '{}': codec returned null for '{}', not caching it", options.namespace, redisKey);
      return null;
    }
    if (payload.length > options.maxValueBytes) {
      metrics.fillSkippedTooLarge.increment();
      log.warn("cache '{}': value for '{}' is {} bytes, over maxValueBytes {}; not caching it", options.namespace,
          redisKey, payload.length, options.maxValueBytes);
      return null;
    }
    return RedisRecord.value(version, payload);
  }

  private long versionOf(V value) {
    if (options.versionOf == null) {
      return RedisRecord.NO_VERSION;
    }
    long version = options.versionOf.applyAsLong(value);
    if (version < 0) {
      throw new IllegalArgumentException("cache '" + options.namespace + "': version of " + value.getClass()
          .getSimpleName() + " must be >= 0, was " + version);
    }
    return version;
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

  /**
   * The plain key shape of a namespace refuses a key that begins with a sibling shape's prefix: it would be that
   * shape's Redis key too (off the L1 hit path: an L1 entry is only ever made after this check).
   */
  private void checkOwnKey(K key, String local) {
    String sibling = shape.siblingPrefixOf(local);
    if (sibling != null) {
      throw new IllegalArgumentException("cache '" + options.namespace + "': key " + key + " is encoded as '" + local
          + "', which begins with '" + sibling + "', the keyPrefix of another cache of this namespace: both would "
          + "use the Redis key '" + prefix + local + "'");
    }
  }

  private long jitteredTtlMillis() {
    long ttl = options.ttl.toMillis();
    if (options.ttlJitter == 0) {
      return ttl;
    }
    double factor = 1 + options.ttlJitter * (2 * ThreadLocalRandom.current().nextDouble() - 1);
    return Math.max(1, (long) (ttl * factor));
  }

  private void recordWait(long waitStart, boolean gotValue) {
    if (waitStart != 0) {
      (gotValue ? metrics.leaseWaitValue : metrics.leaseWaitTimeout)
          .record(System.nanoTime() - waitStart, TimeUnit.NANOSECONDS);
    }
  }

  /** For tests: whether this JVM's L1 holds the key. */
  boolean inL1(K key) {
    return l1 != null && l1.contains(encodeKey(key));
  }

  /** For {@link L1Peek}: the L1 entry as it is (the value or {@link L1Store#NOT_FOUND}), or null; see there. */
  Object peekL1(K key) {
    notNull(key, "key");
    return l1 == null ? null : l1.peek(encodeKey(key));
  }
}
