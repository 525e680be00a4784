package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.KeyedInvalidation;
import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache side of a {@link WriteBehindFlusher}: the fences it leaves after a flush or a dead letter, without a cache
 * of its own (the flusher may run in a JVM that also has the write-behind cache; every L1 hears of the change through
 * Redis's invalidation push). An invalidation Redis does not take is queued and retried, never dropped.
 */
final class FlushedKeys {

  private static final Logger log = LoggerFactory.getLogger(FlushedKeys.class);

  private final String namespace;
  private final String prefix;
  private final FenceProtocol fence;
  private final PendingInvalidations pending;
  private final long tombstoneTtlMillis;

  FlushedKeys(CacheOptions<?, ?> options, FenceProtocol fence, PendingInvalidations pending) {
    this.fence = fence;
    this.namespace = options.namespace;
    this.prefix = options.namespace + ":" + options.keyPrefix;
    this.pending = pending;
    this.tombstoneTtlMillis = options.tombstoneTtl.toMillis();
  }

  /** One key's flushed change: the key text, the version, whether it was a delete. */
  record Flushed(String local, long version, boolean deleted) {
    Invalidation invalidation() {
      return deleted ? Invalidation.deleted(version - 1) : Invalidation.changed(version);
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
    List<KeyedInvalidation> batch = new ArrayList<>(flushed.size());
    for (Flushed f : flushed) {
      batch.add(new KeyedInvalidation(prefix + f.local(), f.invalidation(), tombstoneTtlMillis));
    }
    try {
      fence.invalidatePipelined(batch);
    } catch (L2Failure e) {
      for (KeyedInvalidation i : batch) {
        pending.enqueue(i.key(), i.invalidation(), tombstoneTtlMillis);
      }
      log.warn("cache '{}': {} invalidations after a flush not taken by Redis, queued for retry: {}", namespace,
          batch.size(), e.getMessage());
    }
  }

  /** A write the database will never have: drops whatever is cached, keeps the floor. */
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
