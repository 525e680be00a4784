package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.PutOutcome;
import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import dev.veracache.testing.CacheHooks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache's write path, after a committed database write: invalidations and versioned sets (write-through). Keys
 * arrive encoded and checked by {@link DefaultTieredCache}.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Versioned sets never go back in time</b> ({@code put.lua}, R4).</li>
 *   <li><b>Own writes drop L1 before and after the Redis call</b>: before, so this JVM stops serving the old value at
 *       once; after, because a read that started in between may have fetched the old value, and this client must not
 *       count on the push of its own write (Redis 6.2 and 7.0 push script writes back despite NOLOOP, redis#11052,
 *       but NOLOOP is meant to spare them). The key's single flight is detached first, so a read that starts after
 *       the write returned never joins a load that may have read the old row (R11).</li>
 *   <li><b>An invalidation Redis refuses is queued and retried</b> ({@link PendingInvalidations}), never dropped.</li>
 *   <li><b>A set that cannot be made becomes an invalidation at its version</b>: a value the codec refuses, a Redis
 *       failure, a set the replicas did not acknowledge ({@link InvalidationReplicas}: a failover could bring back
 *       what it replaced), or a test hook that throws before the set. The database has the write, so the old value
 *       must not stay cached anywhere.</li>
 *   <li><b>With {@code invalidationReplicas}, a whole-cache invalidation counts only once every master's replicas
 *       hold it</b>; until then it is queued like a refused one (R15).</li>
 * </ul>
 */
final class CacheWrites<K, V> {

  private static final Logger log = LoggerFactory.getLogger(CacheWrites.class);

  private final CacheOptions<K, V> options;
  private final FenceProtocol fence;
  private final PendingInvalidations pending;
  private final InvalidationReplicas replicas;
  private final RedisEntries<V> entries;
  private final Misses<K, V> misses;
  private final L1Store l1; // null when L1 is off
  private final L1Readmission<V> readmission; // null when L1 is off
  private final SingleFlight<?> singleFlight;
  private final CacheMetrics metrics;
  private final CacheHooks hooks;
  private final long tombstoneTtlMillis;

  CacheWrites(CacheOptions<K, V> options, FenceProtocol fence, PendingInvalidations pending,
      InvalidationReplicas replicas, RedisEntries<V> entries, Misses<K, V> misses, L1Store l1, L1Readmission<V> readmission, SingleFlight<?> singleFlight,
      CacheMetrics metrics) {
    this.options = options;
    this.fence = fence;
    this.pending = pending;
    this.replicas = replicas;
    this.entries = entries;
    this.misses = misses;
    this.l1 = l1;
    this.readmission = readmission;
    this.singleFlight = singleFlight;
    this.metrics = metrics;
    this.hooks = options.hooks;
    this.tombstoneTtlMillis = options.tombstoneTtl.toMillis();
  }

  Invalidation versioned(long version, boolean deleted) {
    if (version < 0) {
      throw new IllegalArgumentException("cache '" + options.namespace + "': version must be >= 0"
          + (deleted ? "" : " (or -1 for none)") + ", was " + version);
    }
    return deleted ? Invalidation.deleted(version) : Invalidation.changed(version);
  }

  void invalidate(String local, String redisKey, Invalidation invalidation) {
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

  /**
   * Every key under {@code redisPrefix}; see {@link TieredCache#invalidateAll}. When Redis does not take it, it is
   * queued and retried like any invalidation, and reads of the cache bypass Redis and L1 until it lands.
   */
  void invalidateAll(String redisPrefix) {
    if (l1 != null) {
      l1.clear(); // this client's own deletes are not pushed back to it (NOLOOP)
    }
    singleFlight.detachAll();
    Runnable clear = () -> {
      long deleted = entries.deleteAllStartingWith(redisPrefix);
      replicas.awaitEveryMaster(); // not acknowledged: queued like a refusal, and the retry deletes and waits again
      if (l1 != null) {
        l1.clear();
      }
      metrics.invalidationsApplied.increment((double) deleted);
      log.info("cache '{}': invalidated every key under '{}' ({} in Redis)", options.namespace, redisPrefix, deleted);
    };
    try {
      clear.run();
    } catch (L2Failure e) {
      pending.enqueueClear(redisPrefix, clear);
      metrics.invalidationsQueued.increment();
      log.warn("cache '{}': Redis did not invalidate every key under '{}', queued for retry (reads of the cache "
          + "bypass Redis meanwhile): {}", options.namespace, redisPrefix, e.getMessage());
    }
  }

  /** A versioned set; see {@link TieredCache#put}. */
  boolean put(String local, String redisKey, V value) {
    long version = versionForPut(local, redisKey, value);
    byte[] record = entries.encodeOrNull(redisKey, value, version);
    if (record == null) {
      invalidate(local, redisKey, versioned(version, false));
      return false;
    }
    return store(local, redisKey, value, version, record, misses.valueTtlMillis());
  }

  /**
   * A write-behind write the log has taken, at the version {@link FenceProtocol#reserve} gave it: {@code value} (null
   * for a delete, cached as "not found" above the deleted version) and its {@code record}, for {@code ttlMillis}.
   * Fenced like a versioned set.
   */
  boolean storeLogged(String local, String redisKey, V value, long version, byte[] record, long ttlMillis) {
    return store(local, redisKey, value, version, record, ttlMillis);
  }

  private boolean store(String local, String redisKey, V value, long version, byte[] record, long ttlMillis) {
    if (l1 != null) {
      l1.invalidate(local);
    }
    singleFlight.detach(local); // a read after this returns must not join a load that may have read the old row
    L1Store.ReadTicket ticket = l1 == null ? null : l1.beginRead(local);
    try {
      try {
        hooks.beforeVersionedSet(redisKey, version);
      } catch (RuntimeException | Error e) {
        invalidate(local, redisKey, versioned(version, false)); // the write is committed: drop the old value
        throw e;
      }
      PutOutcome outcome;
      try {
        outcome = fence.put(redisKey, version, record, ttlMillis, tombstoneTtlMillis);
      } catch (L2Failure e) {
        log.warn("cache '{}': set of '{}' version {} not taken by Redis, invalidating instead: {}",
            options.namespace, redisKey, version, e.getMessage());
        invalidate(local, redisKey, versioned(version, false));
        return false;
      }
      try {
        replicas.awaitWriteOf(redisKey); // whatever the outcome: even a refused set may have left a tombstone
      } catch (L2Failure e) {
        log.warn("cache '{}': set of '{}' version {} not acknowledged by the replicas, invalidating instead: {}",
            options.namespace, redisKey, version, e.getMessage());
        invalidate(local, redisKey, versioned(version, false));
        return false;
      }
      if (outcome == PutOutcome.STORED) {
        afterOwnWrite(local, redisKey);
      }
      hooks.fenceDecided(redisKey, outcome == PutOutcome.STORED || outcome == PutOutcome.ALREADY_CACHED);
      switch (outcome) {
        case REFUSED_BY_VERSION -> {
          metrics.putRefusedVersion.increment();
          return false;
        }
        case NO_FLOOR -> {
          metrics.putNoFloor.increment();
          log.debug("cache '{}': set of '{}' version {} not cached: the key holds no version to prove it is the "
              + "newest (a tombstone at version {} is left; the next read loads the row)", options.namespace, redisKey,
              version, version);
          return false;
        }
        default -> {
          metrics.putStored.increment();
          misses.rememberOwnWrite(ticket, value);
          return true;
        }
      }
    } finally {
      if (ticket != null) {
        l1.endRead(ticket);
      }
    }
  }

  /** After an own write that changed the key in Redis (a set, refresh-ahead's new lifetime). */
  void afterOwnWrite(String local, String redisKey) {
    if (readmission != null) {
      readmission.afterOwnWrite(local, redisKey); // its own push will drop the value from L1: re-read it then
    }
  }

  /** The version of a value about to be set; when it cannot be read the key is invalidated (the write committed). */
  private long versionForPut(String local, String redisKey, V value) {
    try {
      return entries.versionOf(value);
    } catch (RuntimeException e) {
      invalidate(local, redisKey, Invalidation.unversioned());
      throw e;
    }
  }
}
