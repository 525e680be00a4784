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
