package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.List;

/**
 * CLUSTER_FAILOVER: a failover that loses writes. When the fault starts, the master serving the hottest row's key
 * ({@code k0}) has its replica paused and its replication link cut ({@link RedisCluster#cutOffReplicas}); when it ends,
 * the master is killed and the replica promoted ({@link RedisCluster#failOverToCutOff}, which waits for the cluster to
 * be whole again): whatever the master took in between is lost. Proven by the replication bytes the master took that
 * its replica never got.
 */
final class ClusterFailover implements Fault {

  static final String BYTES_LOST = "replication bytes lost on promotion";
  private static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(30);

  private RedisServer master;
  private List<RedisServer> cutOff = List.of();
  private long offsetAtCut;

  @Override
  public List<String> provingMeasures(Strategy strategy) {
    return List.of(BYTES_LOST);
  }

  @Override
  public void inject(FaultTarget target) {
    RedisCluster cluster = target.stack().redisCluster();
    master = cluster.masterOf(SlotHash.getSlot(target.context().namespace + ":k0"));
    offsetAtCut = replicationOffset(master);
    cutOff = cluster.cutOffReplicas(master);
  }

  @Override
  public void end(FaultTarget target) {
    long taken = replicationOffset(master);
    target.context().measures.add(BYTES_LOST, Math.max(0, taken - offsetAtCut));
    List<RedisServer> replicas = cutOff;
    cutOff = List.of();
    target.stack().redisCluster().failOverToCutOff(master, replicas, FAILOVER_TIMEOUT);
  }

  @Override
  public void heal(FaultTarget target) {
    cutOff.forEach(node -> {
      if (node.isPaused()) {
        node.resume();
      }
    });
    cutOff = List.of();
    if (master != null && !master.isRunning()) {
      master.start();
    }
    target.stack().redisCluster().awaitHealthy(FAILOVER_TIMEOUT);
  }

  /** {@code master_repl_offset} of INFO replication: how far the node's replication stream went. */
  private static long replicationOffset(RedisServer node) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      for (String line : connection.sync().info("replication").split("\\r?\\n")) {
        if (line.startsWith("master_repl_offset:")) {
          return Long.parseLong(line.substring("master_repl_offset:".length()).trim());
        }
      }
      throw new IllegalStateException("no master_repl_offset in INFO replication of " + node);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
