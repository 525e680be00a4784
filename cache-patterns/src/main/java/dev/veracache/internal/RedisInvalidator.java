package dev.veracache.internal;

import static java.util.Objects.requireNonNull;

import dev.veracache.CacheUnavailableException;
import dev.veracache.FailureReason;
import dev.veracache.VeracacheOptions;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Invalidates cache keys in Redis for a writer outside the caches: the CDC listener. Each invalidation runs the same
 * script as {@code TieredCache.invalidate(key, version)} (cancels fill leases, leaves a versioned tombstone), so every
 * instance's L1 drops the key through its tracking push.
 *
 * <p>Internal: not part of the API; may change in any release. It is public for the {@code cdc-invalidator} module.
 *
 * <p>Unlike {@code TieredCache}, it never queues a failure: {@link #invalidate(List)} either returns after Redis took
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
  private final FenceProtocol fence;

  private RedisInvalidator(RedisLink link) {
    this.link = link;
    this.fence = new FenceProtocol(link);
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
    List<FenceProtocol.KeyedInvalidation> batch = invalidations.stream()
        .map(i -> new FenceProtocol.KeyedInvalidation(i.redisKey(), Invalidation.of(i.version(), i.rowDeleted()),
            i.tombstoneTtlMillis()))
        .toList();
    try {
      fence.invalidatePipelined(batch);
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
      return link.unlinkStartingWith(namespace + ":");
    } catch (L2Failure e) {
      throw new CacheUnavailableException(e.getMessage(), e.reason, e);
    }
  }

  /** What {@link #publishProgress} found. */
  public enum ProgressOutcome {
    /** Published: Redis still holds what this listener wrote last. */
    PUBLISHED,
    /**
     * Redis does not hold what this listener wrote last: it restarted from an older snapshot, failed over to a replica
     * that lagged, or was flushed. Invalidations it acknowledged may be gone; nothing was published.
     */
    REDIS_LOST_DATA
  }

  /**
   * Publishes how far a CDC listener has applied, for clients that bound their trust in a namespace by it
   * ({@code CacheOptions.Builder.listenerStalenessBound}): in each namespace's progress hash
   * ({@code veracache:progress:<namespace>}, field = the listener's name), the Redis time up to which every commit is
   * known applied ({@code lagMillis} before now). In the same atomic step it checks that Redis still holds the sequence
   * number this listener instance wrote last ({@code veracache:cdc:<listener>:seq:<instance>}, one key per running
   * instance, so that two instances of one listener, in a rolling deploy, do not take each other's numbers for data
   * loss; it expires a day after its last write) and writes the next one: a Redis that lost data is detected at the
   * first publish after it came back.
   *
   * @param lastSequence what this listener wrote last, or 0 right after it started (nothing is checked then)
   * @param sequence the new sequence number, above {@code lastSequence}
   * @throws CacheUnavailableException if Redis did not answer; the caller retries
   */
  public ProgressOutcome publishProgress(String listener, String instance, List<String> namespaces, long lastSequence,
      long sequence, long lagMillis) {
    notNull(namespaces, "namespaces");
    return runPublish(listener, instance, namespaces, lastSequence, sequence, Math.max(0, lagMillis));
  }

  /**
   * Like {@link #publishProgress} without progress: only checks that Redis holds {@code lastSequence} and writes
   * {@code sequence}. The listener calls it after every applied batch, so that an invalidation lost with a restored
   * snapshot is always lost together with a sequence number written after it, and is detected at the next check.
   */
  public ProgressOutcome advanceSequence(String listener, String instance, long lastSequence, long sequence) {
    return runPublish(listener, instance, List.of(), lastSequence, sequence, -1);
  }

  private ProgressOutcome runPublish(String listener, String instance, List<String> namespaces, long lastSequence,
      long sequence, long lagMillis) {
    notNull(listener, "listener");
    notNull(instance, "instance");
    try {
      return fence.publish(listener, instance, namespaces, lastSequence, sequence, lagMillis)
          == FenceProtocol.PublishOutcome.PUBLISHED ? ProgressOutcome.PUBLISHED : ProgressOutcome.REDIS_LOST_DATA;
    } catch (L2Failure e) {
      throw new CacheUnavailableException(e.getMessage(), e.reason, e);
    }
  }

  /**
   * Blocks until the writes this connection sent so far (on a cluster, each master's connection) are on at least {@code replicas} replicas ({@code WAIT}) and,
   * with {@code localAof}, fsynced to the primary's append-only file ({@code WAITAOF}, Redis 7.2 or newer), at most
   * {@code timeout}. For listeners that must not acknowledge a position whose invalidations a failover could lose.
   *
   * @throws CacheUnavailableException if fewer copies acknowledged in time (reason {@code not_durable}), or Redis
   *     refused (for example {@code WAITAOF} on a Redis before 7.2, or with AOF off)
   */
  public void awaitDurability(int replicas, boolean localAof, java.time.Duration timeout) {
    if (replicas <= 0 && !localAof) {
      return;
    }
    try {
      // On a cluster, each master's connection carried the invalidations of its slots: each waits for its own.
      for (RedisLink.Node node : link.nodes()) {
        awaitDurability(node, replicas, localAof, timeout);
      }
    } catch (L2Failure e) {
      throw new CacheUnavailableException(e.getMessage(), e.reason, e);
    }
  }

  private void awaitDurability(RedisLink.Node node, int replicas, boolean localAof, java.time.Duration timeout) {
    long acknowledged;
    String where = link.isCluster() ? " at " + node.endpoint() : "";
    if (localAof) {
      List<Object> counts = link.control(() -> node.connection().sync().dispatch(WaitAof.WAITAOF,
          new io.lettuce.core.output.ArrayOutput<>(link.codec()), new io.lettuce.core.protocol.CommandArgs<>(
              link.codec()).add(1).add(replicas).add(timeout.toMillis())));
      if ((Long) counts.get(0) < 1) {
        throw new CacheUnavailableException("Redis" + where + " did not fsync the invalidations to its append-only "
            + "file within " + timeout, FailureReason.NOT_DURABLE, null);
      }
      acknowledged = (Long) counts.get(1);
    } else {
      acknowledged = link.control(() -> node.connection().sync().waitForReplication(replicas, timeout.toMillis()));
    }
    if (acknowledged < replicas) {
      throw new CacheUnavailableException("only " + acknowledged + " of " + replicas + " Redis replicas" + where
          + " acknowledged the invalidations within " + timeout, FailureReason.NOT_DURABLE, null);
    }
  }

  @SuppressWarnings("deprecation") // Enum.name() implements ProtocolKeyword.name(), which Lettuce 7 deprecates
  private enum WaitAof implements io.lettuce.core.protocol.ProtocolKeyword {
    WAITAOF;

    @Override
    public byte[] getBytes() {
      return name().getBytes(StandardCharsets.US_ASCII);
    }
  }

  /**
   * How many times the connection (on a cluster, any routing connection) connected or dropped, or the topology changed,
   * so far: when it moved between an applied batch and its progress record, the Redis the record goes to may have lost
   * the batch.
   */
  public long connectionChanges() {
    return link.connectionChanges();
  }

  /** Redis answers PING (on a cluster, every master does): for health checks. */
  public boolean ping() {
    try {
      for (RedisLink.Node node : link.nodes()) {
        if (!"PONG".equals(link.control(() -> node.connection().sync().ping()))) {
          return false;
        }
      }
      return true;
    } catch (L2Failure e) {
      return false;
    }
  }

  @Override
  public void close() {
    link.close();
  }

  private static <T> T notNull(T value, String name) {
    return requireNonNull(value, () -> name + " must not be null");
  }
}
