package dev.veracache.stack;

import java.time.Duration;
import java.util.List;

/**
 * A small Redis Cluster: three masters, one replica each, every node a real redis-server on a free port of
 * 127.0.0.1 ({@link EmbeddedStack#redisCluster()}). Slots 0-5460, 5461-10922 and 10923-16383 start on the first,
 * second and third master; failover is Redis Cluster's own ({@code cluster-node-timeout} 1 s).
 */
public interface RedisCluster {

  /** Every node, in the order they were created: the three first masters, then their replicas. Roles change. */
  List<RedisServer> nodes();

  /** The nodes that are masters now, asked of the cluster (a killed master is not among them once failed over). */
  List<RedisServer> masters();

  /** The node serving {@code slot} as master now. */
  RedisServer masterOf(int slot);

  /** {@code redis://127.0.0.1:<port>} of every node: seeds for a cluster client. */
  List<String> seedUris();

  /** The live replicas attached to {@code master} now, as it reports them ({@code INFO replication}). */
  List<RedisServer> replicasOf(RedisServer master);

  /**
   * SIGKILL a master (no shutdown, no last replication) and return at once; {@link #awaitHealthy} waits for its replica
   * to take over. With the replica paused ({@link RedisServer#pause()}) while the master took writes, those writes are
   * lost on promotion once the replica is resumed: the failover that loses acknowledged writes.
   *
   * @throws IllegalArgumentException if {@code master} is not a live master of this cluster
   */
  void killMaster(RedisServer master);

  /** What runs while a master's replicas are cut off ({@link #failOverLosing}). */
  @FunctionalInterface
  interface WhileCutOff {
    void run() throws Exception;
  }

  /**
   * A failover that loses acknowledged writes, on demand: pauses {@code master}'s replicas and cuts their replication
   * links from the master's side ({@code CLIENT KILL TYPE replica}), runs {@code writes} (what the master takes now is
   * never sent), SIGKILLs the master, resumes the replicas and waits until one took over; then restarts the killed
   * node, which rejoins as a replica. The replicas are resumed whatever happens.
   *
   * @throws IllegalArgumentException if {@code master} is not a live master with a replica
   */
  void failOverLosing(RedisServer master, WhileCutOff writes, Duration timeout) throws Exception;

  /**
   * The first half of {@link #failOverLosing}: pauses {@code master}'s replicas and cuts their replication links, so
   * that what the master takes from now on is never replicated.
   *
   * @return the replicas cut off (paused), to hand to {@link #failOverToCutOff}
   * @throws IllegalArgumentException if {@code master} is not a live master with a replica
   */
  List<RedisServer> cutOffReplicas(RedisServer master);

  /**
   * The second half of {@link #failOverLosing}: SIGKILLs {@code master}, resumes {@code cutOff} and waits until one took
   * over its slots; then restarts the killed node (it rejoins as a replica) and waits again.
   */
  void failOverToCutOff(RedisServer master, List<RedisServer> cutOff, Duration timeout);

  /**
   * SIGKILL a master (no shutdown, no last replication) and wait until its replica took over its slots
   * ({@code cluster_state:ok} on every live node, every slot served by a live master).
   *
   * @throws IllegalArgumentException if {@code master} is not a live master of this cluster
   * @throws IllegalStateException if the cluster did not recover within {@code timeout}
   */
  void killMasterAndAwaitFailover(RedisServer master, Duration timeout);

  /** Waits until every live node reports {@code cluster_state:ok} and every slot has a live master. */
  void awaitHealthy(Duration timeout);

  /** FLUSHALL on every live master. */
  void flushAll();
}
