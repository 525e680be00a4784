package dev.veracache.chaos.fault;

import dev.veracache.chaos.workload.RunContext;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a {@link Fault} acts on in one run: the servers, the run's shared state, the instances' proxies (when the fault
 * {@linkplain Fault#needsProxies needs them}) and the CDC listener (null for a strategy without one).
 *
 * <p>Invariants: {@link #healServers()} is idempotent and leaves the servers as a run found them (Redis a primary,
 * running, not paused; the database running; every proxy healed without latency; the listener resumed and live):
 * quiescence starts from there.
 *
 * @param context null when healing after a run that failed before it had one
 * @param onCluster the run's caches and listener use the embedded Redis Cluster (its faults act on the master serving
 *     the hottest key, {@link #hotMaster()})
 */
public record FaultTarget(EmbeddedStack stack, RunContext context, List<InstanceNetwork> proxies,
    CdcInvalidatorControl listener, boolean onCluster) {

  private static final Logger log = LoggerFactory.getLogger(FaultTarget.class);

  /** Heals whatever a run left broken, when the run failed before it had its fault. */
  public static void healAfterFailure(EmbeddedStack stack) {
    new FaultTarget(stack, null, List.of(), null, false).healServers();
  }

  /** Undoes every fault there is, whatever was injected; returns once the CDC listener, if any, is live. */
  public void healServers() {
    if (stack.redis().controllable()) {
      if (stack.redis().isPaused()) {
        stack.redis().resume();
      }
      if (!stack.redis().isRunning()) {
        stack.redis().start();
      }
    }
    try {
      redisCommand(c -> c.replicaofNoOne());
    } catch (RuntimeException e) {
      log.warn("cannot make Redis a primary again: {}", e.toString());
    }
    if (onCluster) {
      healCluster();
    }
    if (stack.database().controllable() && !stack.database().isRunning()) {
      stack.database().start();
    }
    for (InstanceNetwork proxy : proxies) {
      proxy.heal();
      proxy.latency(Duration.ZERO);
    }
    if (listener != null) {
      listener.resume();
      listener.ensureLive();
    }
  }

  /** Every cluster node running and resumed, every master taking writes without replicas, the cluster whole. */
  private void healCluster() {
    RedisCluster cluster = stack.redisCluster();
    for (RedisServer node : cluster.nodes()) {
      if (node.isPaused()) {
        node.resume();
      }
      if (!node.isRunning()) {
        node.start();
      }
    }
    cluster.awaitHealthy(Duration.ofSeconds(30));
    for (RedisServer master : cluster.masters()) {
      try {
        redisCommand(master, c -> c.configSet("min-replicas-to-write", "0"));
      } catch (RuntimeException e) {
        log.warn("cannot let cluster master {} take writes without replicas again: {}", master, e.toString());
      }
    }
  }

  /** On a cluster run: the master serving the hottest row's key ({@code k0}) now. */
  RedisServer hotMaster() {
    return stack.redisCluster().masterOf(SlotHash.getSlot(context.namespace + ":k0"));
  }

  /** Runs a Redis command on a connection of its own to {@code node} (fault injection on a cluster node). */
  static void redisCommand(RedisServer node, Consumer<RedisCommands<String, String>> command) {
    RedisClient client = RedisClient.create(node.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      command.accept(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }

  /** Runs a Redis command on a connection of its own (fault injection). */
  void redisCommand(Consumer<RedisCommands<String, String>> command) {
    RedisClient client = RedisClient.create(stack.redis().uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      command.accept(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
