package dev.veracache;

import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import java.time.Duration;

/**
 * The option {@link VeracacheOptions.Builder#invalidationReplicas}: how many replicas must hold a write that removes
 * or replaces a cached value before it counts as taken. Redis replicates asynchronously, so a master that dies before
 * its replica got such a write hands the key to a replica that still holds the old value (race R15); a write not
 * acknowledged is treated as one Redis refused, so the caller queues it and the retry lands on the promoted replica.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Every write of this client that can hide a newer row is waited for</b>: an invalidation (and its retries),
 *       a versioned set whatever its outcome (a set stores a value, or leaves a tombstone in place of a "not found"
 *       or of a record that proves nothing), an {@code invalidateAll} (on every master), and the fences a
 *       write-behind flusher leaves after a flush or a dead letter.</li>
 *   <li><b>The wait is where the write went</b>: the key's master, and during a slot migration also the node an
 *       {@code ASK} or {@code MOVED} sent it to ({@link RedisLink#awaitReplicas}). On a cluster, a master with no
 *       replica in the topology is not waited for: nothing older can be promoted in its place.</li>
 *   <li><b>Waiting never holds the connection</b>: the WAITs of many writers share one short WAIT at a time per
 *       connection, so reads and scripts behind them are not delayed past a few milliseconds while a replica is
 *       missing (a missing replica costs the waiting writers, not the client).</li>
 *   <li><b>With 0 replicas nothing is waited for</b>: no extra round trip.</li>
 * </ul>
 */
final class InvalidationReplicas {

  private final RedisLink link;
  private final int replicas;
  private final Duration timeout;

  InvalidationReplicas(RedisLink link, VeracacheOptions options) {
    this.link = link;
    this.replicas = options.invalidationReplicas;
    this.timeout = options.commandTimeout.dividedBy(2); // the WAIT's reply must come within the command timeout
  }

  /**
   * Returns once the replicas hold this client's last write of {@code redisKey}.
   *
   * @throws L2Failure reason {@code NOT_DURABLE} when too few acknowledged in time
   */
  void awaitWriteOf(String redisKey) {
    if (replicas > 0) {
      link.awaitReplicas(redisKey, replicas, timeout);
    }
  }

  /**
   * Returns once the replicas of every master hold this client's writes so far (after a write spanning the cache).
   *
   * @throws L2Failure reason {@code NOT_DURABLE} when too few acknowledged in time on some master
   */
  void awaitEveryMaster() {
    if (replicas > 0) {
      link.awaitReplicasOnEveryMaster(replicas, timeout);
    }
  }
}
