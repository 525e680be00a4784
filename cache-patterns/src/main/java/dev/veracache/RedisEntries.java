package dev.veracache;

import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import dev.veracache.internal.RedisRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache's entries in Redis, as values: a {@code GET} read into a {@link Lookup}, and a value made into the record
 * to store (the byte layout is {@link RedisRecord}'s).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>What cannot be read is never served and never blocks</b>: a record that does not parse, a payload the codec
 *       refuses, or a key of another type under the namespace is counted ({@code veracache.codec.errors}), logged,
 *       invalidated (queued for retry if Redis refuses), and read as a miss.</li>
 *   <li><b>What cannot be stored is served, not cached</b>: a value whose version cannot be read, that the codec
 *       refuses, or that is over {@code maxValueBytes} gets no record (counted, logged).</li>
 * </ul>
 */
final class RedisEntries<V> {

  private static final Logger log = LoggerFactory.getLogger(RedisEntries.class);

  /** What {@link #versionOrFailed} returns when the version cannot be read. */
  static final long VERSION_FAILED = Long.MIN_VALUE;

  private final CacheOptions<?, V> options;
  private final RedisLink link;
  private final PendingInvalidations pending;
  private final CacheMetrics metrics;
  private final long tombstoneTtlMillis;

  RedisEntries(CacheOptions<?, V> options, RedisLink link, PendingInvalidations pending, CacheMetrics metrics) {
    this.options = options;
    this.link = link;
    this.pending = pending;
    this.metrics = metrics;
    this.tombstoneTtlMillis = options.tombstoneTtl.toMillis();
  }

  /**
   * Deletes every key that begins with {@code redisPrefix}; see {@link TieredCache#invalidateAll}.
   *
   * @throws L2Failure if Redis did not answer
   */
  long deleteAllStartingWith(String redisPrefix) {
    return link.unlinkStartingWith(redisPrefix);
  }

  /**
   * GETs the key and decodes it; a key of another type under the namespace is foreign: reported, removed, a miss.
   *
   * @throws L2Failure if Redis did not answer
   */
  Lookup<V> read(String redisKey) {
    byte[] raw;
    try {
      raw = link.get(redisKey);
    } catch (L2Failure e) {
      if (e.reason != FailureReason.WRONGTYPE) {
        throw e;
      }
      return unreadable(redisKey, e);
    }
    return raw == null ? Lookup.miss() : decode(redisKey, raw);
  }

  /** What {@link #readAged} found: the lookup, the record's bytes (null when absent) and its remaining life (PTTL). */
  record Aged<V>(Lookup<V> lookup, byte[] record, long pttlMillis) {}

  /**
   * Like {@link #read}, with the record's remaining life: GET and PTTL sent back to back (one round trip).
   *
   * @throws L2Failure if Redis did not answer
   */
  Aged<V> readAged(String redisKey) {
    RedisLink.ValueAndPttl found;
    try {
      found = link.getWithPttl(redisKey);
    } catch (L2Failure e) {
      if (e.reason != FailureReason.WRONGTYPE) {
        throw e;
      }
      return new Aged<>(unreadable(redisKey, e), null, -2);
    }
    byte[] raw = found.value();
    return new Aged<>(raw == null ? Lookup.miss() : decode(redisKey, raw), raw, found.pttlMillis());
  }

  /** A value or cached "not found" is a hit; a tombstone a miss; anything unreadable a reported miss. */
  Lookup<V> decode(String redisKey, byte[] raw) {
    RedisRecord record;
    try {
      record = RedisRecord.parse(raw);
    } catch (IllegalArgumentException e) {
      return unreadable(redisKey, e);
    }
    switch (record.kind) {
      case NEGATIVE:
        return new Lookup.Hit<>(null);
      case TOMBSTONE:
        return record.leaseRecorded() ? Lookup.leased() : Lookup.miss();
      default:
        try {
          return new Lookup.Hit<>(options.codec.decode(record.payload()));
        } catch (Exception e) {
          return unreadable(redisKey, e);
        }
    }
  }

  private Lookup<V> unreadable(String redisKey, Exception e) {
    metrics.codecErrors.increment();
    log.warn("cache '{}': the Redis entry '{}' cannot be decoded ({}); invalidating it and reading the loader",
        options.namespace, redisKey, e.toString());
    try {
      pending.apply(redisKey, Invalidation.unversioned(), tombstoneTtlMillis);
    } catch (L2Failure failure) {
      pending.enqueue(redisKey, Invalidation.unversioned(), tombstoneTtlMillis);
    }
    return Lookup.miss();
  }

  /** The lease script deleted a key of another type under the namespace: reported as a GET would have (counted, logged). */
  void reportDeletedForeignType(String redisKey) {
    metrics.codecErrors.increment();
    log.warn("cache '{}': the Redis key '{}' was of another type (not a Veracache record); it was deleted and the key "
        + "read from the loader", options.namespace, redisKey);
  }

  /** The record to store, or null when the value cannot be cached (codec failure or too large: logged, counted). */
  byte[] encodeOrNull(String redisKey, V value, long version) {
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

  /** The value's version, or {@link #VERSION_FAILED} when the extractor threw or gave a negative number (logged). */
  long versionOrFailed(String redisKey, V value) {
    try {
      return versionOf(value);
    } catch (RuntimeException e) {
      metrics.codecErrors.increment();
      log.warn("cache '{}': the version of the value loaded for '{}' cannot be read ({}); serving it, not caching it",
          options.namespace, redisKey, e.toString());
      return VERSION_FAILED;
    }
  }

  /**
   * The value's version, {@link RedisRecord#NO_VERSION} for an unversioned cache.
   *
   * @throws IllegalArgumentException when the extractor gives a negative number (or what it throws)
   */
  long versionOf(V value) {
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
}
