package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.FlushFence;
import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache side of a {@link WriteBehindFlusher}: the fences it leaves after a flush or a dead letter, without a cache
 * of its own (the flusher may run in a JVM that also has the write-behind cache; every L1 hears of the change through
 * Redis's invalidation push). An invalidation Redis does not take is queued and retried, never dropped; with
 * {@code invalidationReplicas}, fences the replicas did not acknowledge are queued the same way.
 */
final class FlushedKeys {

  private static final Logger log = LoggerFactory.getLogger(FlushedKeys.class);

  private final String namespace;
  private final String prefix;
  private final FenceProtocol fence;
  private final PendingInvalidations pending;
  private final InvalidationReplicas replicas;
  private final long tombstoneTtlMillis;
  private final long valueTtlMillis;
  private final long notFoundTtlMillis;

  FlushedKeys(CacheOptions<?, ?> options, FenceProtocol fence, PendingInvalidations pending,
      InvalidationReplicas replicas) {
    this.replicas = replicas;
    this.valueTtlMillis = options.ttl.toMillis();
    this.notFoundTtlMillis = options.negativeTtl.toMillis();
    this.fence = fence;
    this.namespace = options.namespace;
    this.prefix = options.namespace + ":" + options.keyPrefix;
    this.pending = pending;
    this.tombstoneTtlMillis = options.tombstoneTtl.toMillis();
  }

  /** One key's fence: the key text and the change the fence stands for. */
  record Flushed(String local, Invalidation change) {

    /** The database committed this put or delete (a delete's floor is its version + 1). */
    static Flushed committed(String local, long version, boolean deleted) {
      return new Flushed(local, deleted ? Invalidation.deleted(version) : Invalidation.changed(version));
    }

    /**
     * The database will never have this write (dead-lettered): nothing at or below it may stay cached, as after a
     * delete just above it (a put at v cached "V:v", a delete at v cached "N:v+1"); newer pending writes stay, and a
     * "not found" may be cached if the row does not exist.
     */
    static Flushed deadLettered(String local, long version, boolean deleted) {
      return new Flushed(local, Invalidation.deleted(deleted ? version + 1 : version));
    }
  }

  /**
   * After the database commit: fences each key at its flushed change (a value at least as new stays cached), in one
   * pipeline (one round trip for the batch, per-key order kept). If Redis fails, every one is queued for retry.
   */
  void invalidateFlushed(List<Flushed> flushed) {
    if (flushed.isEmpty()) {
      return;
    }
    List<FlushFence> batch = new ArrayList<>(flushed.size());
    for (Flushed f : flushed) {
      batch.add(new FlushFence(prefix + f.local(), f.change(), tombstoneTtlMillis, valueTtlMillis,
          notFoundTtlMillis));
    }
    try {
      fence.flushedPipelined(batch);
      replicas.awaitEveryMaster(); // invalidationReplicas: a failover must not bring back what a fence replaced
    } catch (L2Failure e) {
      // The retry queue applies plain invalidations: a newer pending value may be dropped (served from the database
      // until its flush), never an older one kept.
      for (FlushFence f : batch) {
        pending.enqueue(f.key(), f.change(), tombstoneTtlMillis);
      }
      log.warn("cache '{}': {} invalidations after a flush not taken by Redis, queued for retry: {}", namespace,
          batch.size(), e.getMessage());
    }
  }

  /** A record that did not even decode (no version): drops whatever is cached, keeps the floor. */
  void invalidateUnversioned(String local) {
    apply(local, Invalidation.unversioned());
  }

  private void apply(String local, Invalidation invalidation) {
    String redisKey = prefix + local;
    try {
      pending.apply(redisKey, invalidation, tombstoneTtlMillis);
    } catch (L2Failure e) {
      pending.enqueue(redisKey, invalidation, tombstoneTtlMillis);
      log.warn("cache '{}': invalidation of '{}' ({}) after a flush not taken by Redis, queued for retry: {}",
          namespace, redisKey, invalidation, e.getMessage());
    }
  }
}
