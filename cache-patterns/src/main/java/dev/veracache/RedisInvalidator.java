package dev.veracache;

import static dev.veracache.Preconditions.notNull;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import java.util.ArrayList;
import java.util.List;

/**
 * Invalidates cache keys in Redis for a writer outside the caches: the CDC listener. Each invalidation runs the same
 * script as {@link TieredCache#invalidate(Object, long)} (cancels fill leases, leaves a versioned tombstone), so every
 * instance's L1 drops the key through its tracking push.
 *
 * <p>Unlike {@link TieredCache}, it never queues a failure: {@link #invalidate(List)} either returns after Redis took
 * every invalidation, or throws {@link CacheUnavailableException} and the caller (which must not acknowledge its
 * source position) retries. A batch is pipelined on one connection in list order, so per-key order is kept;
 * invalidations are idempotent, so retrying a partly applied batch is harmless.
 */
public final class RedisInvalidator implements AutoCloseable {

  /**
   * One key to invalidate: {@code namespace:key}, the version of the change (-1 for none), whether the row was deleted
   * (then {@code version} is the deleted row's last version, and every fill or set at or below it is refused), and
   * the tombstone lifetime.
   */
  public record KeyInvalidation(String namespace, String key, long version, boolean rowDeleted,
      long tombstoneTtlMillis) {
    public KeyInvalidation {
      notNull(namespace, "namespace");
      notNull(key, "key");
      if (version < RedisRecord.NO_VERSION) {
        throw new IllegalArgumentException("version must be >= 0 (or -1 for none), was " + version);
      }
      if (tombstoneTtlMillis <= 0) {
        throw new IllegalArgumentException("tombstoneTtlMillis must be positive, was " + tombstoneTtlMillis);
      }
    }

    /** An insert or update that produced row version {@code version} (-1: unversioned). */
    public KeyInvalidation(String namespace, String key, long version, long tombstoneTtlMillis) {
      this(namespace, key, version, false, tombstoneTtlMillis);
    }

    public String redisKey() {
      return namespace + ":" + key;
    }
  }

  private final RedisLink link;

  private RedisInvalidator(RedisLink link) {
    this.link = link;
  }

  /** Opens its own Redis connection (no L1, no tracking). */
  public static RedisInvalidator create(VeracacheOptions options) {
    return new RedisInvalidator(new RedisLink(notNull(options, "options")));
  }

  /**
   * Applies every invalidation, pipelined, in order.
   *
   * @throws CacheUnavailableException if Redis did not take all of them; none may be assumed applied
   */
  public void invalidate(List<KeyInvalidation> invalidations) {
    notNull(invalidations, "invalidations");
    if (invalidations.isEmpty()) {
      return;
    }
    List<String> keys = new ArrayList<>(invalidations.size());
    List<byte[][]> args = new ArrayList<>(invalidations.size());
    for (KeyInvalidation i : invalidations) {
      keys.add(i.redisKey());
      args.add(Invalidation.of(i.version(), i.rowDeleted()).scriptArgs(i.tombstoneTtlMillis()));
    }
    try {
      link.runPipelined(FenceScript.INVALIDATE, keys, args);
    } catch (L2Failure e) {
      throw new CacheUnavailableException(e.getMessage(), e.reason, e);
    }
  }

  /**
   * Deletes every key of a namespace ({@code SCAN MATCH namespace:*} then {@code UNLINK}): values, negative entries,
   * tombstones and leases. Every instance's L1 drops them through tracking. For when invalidations were lost for
   * good (the listener's binlog position was purged).
   *
   * @return how many keys were deleted
   * @throws CacheUnavailableException if Redis did not answer; the caller retries
   */
  public long flushNamespace(String namespace) {
    notNull(namespace, "namespace");
    try {
      return link.control(() -> {
        var sync = link.connection().sync();
        long deleted = 0;
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
          KeyScanCursor<String> page = sync.scan(cursor, ScanArgs.Builder.matches(namespace + ":*").limit(1000));
          if (!page.getKeys().isEmpty()) {
            deleted += sync.unlink(page.getKeys().toArray(String[]::new));
          }
          cursor = page;
        } while (!cursor.isFinished());
        return deleted;
      });
    } catch (L2Failure e) {
      throw new CacheUnavailableException(e.getMessage(), e.reason, e);
    }
  }

  /** Redis answers PING: for health checks. */
  public boolean ping() {
    try {
      return "PONG".equals(link.control(() -> link.connection().sync().ping()));
    } catch (L2Failure e) {
      return false;
    }
  }

  @Override
  public void close() {
    link.close();
  }
}
