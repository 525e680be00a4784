package dev.veracache.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Operations on the embedded Redis Cluster that a resharding does, by Redis Cluster's own commands: a node added as a
 * master without slots (as {@code redis-cli --cluster add-node} leaves it), a slot migrated between masters
 * ({@code SETSLOT IMPORTING/MIGRATING}, {@code MIGRATE}, {@code SETSLOT NODE}, as {@code --cluster reshard} does).
 * In this test package because it starts an {@link EmbeddedRedisServer} the way the cluster starts its own nodes.
 */
public final class ClusterSurgery {

  private static final int TIMEOUT_MILLIS = 5000;

  private ClusterSurgery() {}

  /**
   * Starts a new cluster node (the binary the cluster runs), meets it into the cluster and returns once every node
   * knows it as a master: a master without slots, like one {@code redis-cli --cluster add-node} just added.
   */
  public static RedisServer addEmptyMaster(EmbeddedStack stack, RedisCluster cluster) {
    Path clusterDir = stack.directory().resolve("redis-cluster");
    Path binary;
    try {
      binary = Path.of(Files.readString(clusterDir.resolve("node-0").resolve(EmbeddedRedisServer.BINARY_FILE)).trim());
    } catch (IOException e) {
      throw new IllegalStateException("cannot tell which redis-server the cluster runs", e);
    }
    // The file holds the real path: Debian's redis-server is a link to redis-check-rdb, which acts by its name.
    if (!binary.getFileName().toString().equals("redis-server")
        && Files.isExecutable(binary.resolveSibling("redis-server"))) {
      binary = binary.resolveSibling("redis-server");
    }
    int port = StackDirectories.freeClusterNodePort();
    EmbeddedRedisServer node = new EmbeddedRedisServer(clusterDir.resolve("extra-" + port), port, binary, List.of(
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", EmbeddedRedisCluster.NODE_TIMEOUT_MILLIS));
    node.start();
    String id = myId(node);
    command(node, "CLUSTER", "MEET", "127.0.0.1", Integer.toString(cluster.nodes().get(0).port()));
    int expected = cluster.nodes().size() + 1;
    await("every node knows " + port + " as a master, and it knows every node", () -> {
      for (RedisServer other : live(cluster)) {
        if (!line(other, id).contains("master") || line(other, id).contains("fail")
            || line(other, id).contains("handshake")) {
          return false;
        }
      }
      return command(node, "CLUSTER", "NODES").lines().filter(l -> !l.isBlank() && !l.contains("handshake"))
          .count() == expected && command(node, "CLUSTER", "INFO").contains("cluster_state:ok");
    });
    return node;
  }

  /** Stops a node {@link #addEmptyMaster} added (it must serve no slot by then) and makes every node forget it. */
  public static void removeNode(RedisCluster cluster, RedisServer node) {
    String id = myId(node);
    ((EmbeddedRedisServer) node).stop();
    for (RedisServer other : live(cluster)) {
      String reply = call(other, "CLUSTER", "FORGET", id);
      if (reply.startsWith("-") && !reply.contains("Unknown node")) {
        throw new IllegalStateException("CLUSTER FORGET on " + other.port() + ": " + reply);
      }
    }
  }

  private static List<RedisServer> live(RedisCluster cluster) {
    return cluster.nodes().stream().filter(n -> n.isRunning() && !n.isPaused()).toList();
  }

  public static String myId(RedisServer node) {
    return command(node, "CLUSTER", "MYID").trim();
  }

  /** Opens the migration of {@code slot} from {@code from} to {@code to}: IMPORTING on the target, MIGRATING here. */
  public static void beginMigration(int slot, RedisServer from, RedisServer to) {
    command(to, "CLUSTER", "SETSLOT", Integer.toString(slot), "IMPORTING", myId(from));
    command(from, "CLUSTER", "SETSLOT", Integer.toString(slot), "MIGRATING", myId(to));
  }

  /** MIGRATE of the given keys (of a slot being migrated) to the target. */
  public static void migrateKeys(RedisServer from, RedisServer to, List<String> keys) {
    if (keys.isEmpty()) {
      return;
    }
    // REPLACE: clients sharing one name write the same heartbeat key, which may be on the target already.
    List<String> args = new ArrayList<>(List.of("MIGRATE", "127.0.0.1", Integer.toString(to.port()), "", "0",
        Integer.toString(TIMEOUT_MILLIS), "REPLACE", "KEYS"));
    args.addAll(keys);
    command(from, args.toArray(String[]::new));
  }

  /**
   * Returns once {@code master}'s replica has everything the master took so far (a write in {@code key}'s slot, then
   * WAIT 1); throws naming the master otherwise.
   */
  public static void replicateEverythingSoFar(RedisServer master, String key) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(master.uri());
    try (var connection = client.connect()) {
      connection.sync().set("{" + key + "}:wait", "x");
      long acknowledged = connection.sync().waitForReplication(1, 5000);
      if (acknowledged != 1) {
        throw new IllegalStateException("the replica of " + master.port() + " did not acknowledge in 5 s");
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }

  /** Every key of {@code slot} the node holds. */
  public static List<String> keysInSlot(RedisServer node, int slot) {
    String reply = command(node, "CLUSTER", "GETKEYSINSLOT", Integer.toString(slot), "100000");
    return reply.isBlank() || reply.equals("$-1") ? List.of() : reply.lines().filter(l -> !l.isBlank()).toList();
  }

  /** Back to no migration of {@code slot} on both nodes ({@code SETSLOT STABLE}): the source serves it again. */
  public static void abortMigration(int slot, RedisServer from, RedisServer to) {
    call(to, "CLUSTER", "SETSLOT", Integer.toString(slot), "STABLE");
    call(from, "CLUSTER", "SETSLOT", Integer.toString(slot), "STABLE");
  }

  /**
   * Moves {@code slot} and all its keys from one master to another, as a resharding does, and returns once every node
   * says the target serves it.
   */
  public static void moveSlot(RedisCluster cluster, int slot, RedisServer from, RedisServer to) {
    beginMigration(slot, from, to);
    migrateKeys(from, to, keysInSlot(from, slot));
    String toId = myId(to);
    command(to, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    command(from, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    for (RedisServer master : cluster.masters()) {
      if (master != from && master != to) {
        command(master, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
      }
    }
    await("every node says " + to.port() + " serves slot " + slot, () -> {
      for (RedisServer node : live(cluster)) {
        if (masterPortOfSlotAsSeenBy(node, slot) != to.port()) {
          return false;
        }
      }
      return true;
    });
  }

  /** The port of the master that serves {@code slot} in {@code viewer}'s CLUSTER NODES, or -1. */
  private static int masterPortOfSlotAsSeenBy(RedisServer viewer, int slot) {
    for (String l : command(viewer, "CLUSTER", "NODES").split("\n")) {
      String[] f = l.trim().split(" ");
      if (f.length < 9 || !f[2].contains("master")) {
        continue;
      }
      for (int i = 8; i < f.length; i++) {
        String range = f[i];
        if (range.startsWith("[")) {
          continue; // a slot being migrated or imported
        }
        int dash = range.indexOf('-');
        int lo = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
        int hi = dash < 0 ? lo : Integer.parseInt(range.substring(dash + 1));
        if (slot >= lo && slot <= hi) {
          String address = f[1].split(",")[0]; // ip:port@cport
          return Integer.parseInt(address.substring(address.indexOf(':') + 1,
              address.contains("@") ? address.indexOf('@') : address.length()));
        }
      }
    }
    return -1;
  }

  private static String line(RedisServer viewer, String id) {
    return command(viewer, "CLUSTER", "NODES").lines().filter(l -> l.startsWith(id + " ")).findFirst().orElse("");
  }

  /** The whole reply as text; an error reply throws. */
  public static String command(RedisServer node, String... args) {
    String reply = call(node, args);
    if (reply.startsWith("-")) {
      throw new IllegalStateException(String.join(" ", args) + " on " + node.port() + ": " + reply);
    }
    return reply;
  }

  private static String call(RedisServer node, String... args) {
    try {
      return RespClient.text("127.0.0.1", node.port(), null, TIMEOUT_MILLIS, args);
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", args) + " on " + node.port() + ": " + e.getMessage(), e);
    }
  }

  @FunctionalInterface
  private interface Condition {
    boolean holds();
  }

  private static void await(String what, Condition condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      try {
        Thread.sleep(50); // polling a condition (gossip converging), not waiting for a race
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new IllegalStateException("Redis Cluster: " + what + " not reached within 30 s", last);
  }
}
