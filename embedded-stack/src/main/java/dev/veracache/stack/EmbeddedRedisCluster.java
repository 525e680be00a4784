package dev.veracache.stack;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Six embedded redis-servers in cluster mode formed into three masters with one replica each, with Redis Cluster's
 * own commands ({@code CLUSTER ADDSLOTS}, {@code MEET}, {@code REPLICATE}): no {@code redis-cli --cluster}, which
 * the bundled binary does not ship.
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@link #start()} returns only when every slot is served and each master has its replica attached; a node
 *       restarted later keeps its {@code nodes.conf} (its directory survives) and rejoins by itself, as a replica of
 *       whoever holds its slots now.</li>
 *   <li>Nodes run without persistence (as the single embedded Redis): a killed master's data survives only on its
 *       replica, which is what a failover test needs to see.</li>
 *   <li>{@code cluster-node-timeout} is 1 s: a killed master is failed over in about 2-3 s on this machine.</li>
 * </ul>
 */
final class EmbeddedRedisCluster implements RedisCluster {

  static final int MASTERS = 3;
  static final int SLOTS = 16384;
  static final String NODE_TIMEOUT_MILLIS = "1000";
  private static final int TIMEOUT_MILLIS = 2000;

  private final List<EmbeddedRedisServer> nodes = new ArrayList<>();

  EmbeddedRedisCluster(Path dir, Path binary) {
    for (int i = 0; i < MASTERS * 2; i++) {
      nodes.add(new EmbeddedRedisServer(dir.resolve("node-" + i), StackDirectories.freeClusterNodePort(), binary, List.of(
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", NODE_TIMEOUT_MILLIS)));
    }
  }

  /** Starts every node; forms the cluster on the first start; waits until it is healthy. */
  void start() {
    nodes.forEach(EmbeddedRedisServer::start);
    if (!formed) {
      form();
      formed = true;
    }
    awaitHealthy(Duration.ofSeconds(60));
  }

  /** Formed once; every later start (and a node's own restart) rejoins through the nodes' {@code nodes.conf}. */
  private boolean formed;

  private void form() {
    int perMaster = SLOTS / MASTERS;
    for (int m = 0; m < MASTERS; m++) {
      int from = m * perMaster;
      int to = m == MASTERS - 1 ? SLOTS - 1 : from + perMaster - 1 + (m < SLOTS % MASTERS ? 1 : 0);
      List<String> args = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
      for (int slot = from; slot <= to; slot++) {
        args.add(Integer.toString(slot));
      }
      command(nodes.get(m), args.toArray(String[]::new));
    }
    for (int i = 1; i < nodes.size(); i++) {
      command(nodes.get(0), "CLUSTER", "MEET", "127.0.0.1", Integer.toString(nodes.get(i).port()));
    }
    await("every node knows the six nodes", Duration.ofSeconds(30), () -> {
      for (EmbeddedRedisServer node : nodes) {
        if (command(node, "CLUSTER", "NODES").lines().filter(l -> !l.isBlank()).count() < nodes.size()) {
          return false;
        }
      }
      return true;
    });
    for (int m = 0; m < MASTERS; m++) {
      String masterId = command(nodes.get(m), "CLUSTER", "MYID").trim();
      EmbeddedRedisServer replica = nodes.get(MASTERS + m);
      await("node " + replica.port() + " replicates " + nodes.get(m).port(), Duration.ofSeconds(30), () -> {
        try {
          command(replica, "CLUSTER", "REPLICATE", masterId);
          return true;
        } catch (IllegalStateException e) {
          return false; // "Unknown node": the replica has not heard of the master yet
        }
      });
    }
    await("each master has its replica attached", Duration.ofSeconds(30), () -> {
      for (int m = 0; m < MASTERS; m++) {
        if (!command(nodes.get(m), "INFO", "replication").contains("connected_slaves:1")) {
          return false;
        }
      }
      return true;
    });
    // Attached is not synced: a replica whose first sync has not finished never had its master's data, and Redis 7
    // refuses to fail over to it (its data is "too old"), so a master killed right after the start stayed failed.
    await("each replica has synced with its master", Duration.ofSeconds(30), () -> {
      for (int m = 0; m < MASTERS; m++) {
        if (!command(nodes.get(MASTERS + m), "INFO", "replication").contains("master_link_status:up")) {
          return false;
        }
      }
      return true;
    });
  }

  @Override
  public void awaitHealthy(Duration timeout) {
    await("cluster_state:ok with every slot served by a live master", timeout, () -> {
      List<EmbeddedRedisServer> live = live();
      for (EmbeddedRedisServer node : live) {
        String info = command(node, "CLUSTER", "INFO");
        if (!info.contains("cluster_state:ok") || !info.contains("cluster_slots_ok:" + SLOTS)) {
          return false;
        }
      }
      for (int slot : new int[] {0, SLOTS / 2, SLOTS - 1}) {
        if (!live.contains(masterOf(slot))) {
          return false;
        }
      }
      return liveNodesAgree(live);
    }, this::describeLiveNodes);
  }

  /**
   * Whether every live node sees every live node with the same role and none of them as failing: until gossip has
   * spread a failover or a restart, nodes answer CLUSTER NODES differently, and a client reading the topology from
   * them sees it change (Lettuce's refresh then reports a topology change, which costs a tracking client its L1).
   */
  private static boolean liveNodesAgree(List<EmbeddedRedisServer> live) {
    java.util.Set<String> liveIds = new java.util.HashSet<>();
    for (EmbeddedRedisServer node : live) {
      liveIds.add(command(node, "CLUSTER", "MYID").trim());
    }
    java.util.Map<String, String> roleById = new java.util.HashMap<>();
    for (EmbeddedRedisServer viewer : live) {
      for (String line : command(viewer, "CLUSTER", "NODES").lines().toList()) {
        String[] fields = line.trim().split(" ");
        if (fields.length < 3 || !liveIds.contains(fields[0])) {
          continue;
        }
        String flags = fields[2];
        if (flags.contains("fail")) { // fail or fail?: a live node still suspected or marked failed by this viewer
          return false;
        }
        String role = flags.contains("master") ? "master" : "replica";
        String seen = roleById.putIfAbsent(fields[0], role);
        if (seen != null && !seen.equals(role)) {
          return false;
        }
      }
    }
    return true;
  }

  /** What each live node says of the cluster (its state, and the nodes as it sees them), for a failure message. */
  private String describeLiveNodes() {
    StringBuilder state = new StringBuilder();
    for (EmbeddedRedisServer node : live()) {
      state.append("\nnode ").append(node.port()).append(": ");
      try {
        String info = command(node, "CLUSTER", "INFO");
        state.append(info.lines().filter(l -> l.startsWith("cluster_state") || l.startsWith("cluster_slots_ok")
            || l.startsWith("cluster_current_epoch")).map(String::trim).toList()).append("\n")
            .append(command(node, "CLUSTER", "NODES").trim());
        if (command(node, "ROLE").contains("slave")) {
          state.append("\nlog of replica ").append(node.port()).append(":\n").append(node.logTail(12));
        }
      } catch (RuntimeException e) {
        state.append("unreadable: ").append(e.getMessage());
      }
    }
    return state.toString();
  }

  private List<EmbeddedRedisServer> live() {
    return nodes.stream().filter(n -> n.isRunning() && !n.isPaused()).toList();
  }

  @Override
  public List<RedisServer> nodes() {
    return List.copyOf(nodes);
  }

  @Override
  public List<RedisServer> masters() {
    return live().stream().filter(n -> command(n, "ROLE").startsWith("master")).map(n -> (RedisServer) n).toList();
  }

  @Override
  public RedisServer masterOf(int slot) {
    if (slot < 0 || slot >= SLOTS) {
      throw new IllegalArgumentException("slot must be in 0.." + (SLOTS - 1) + ", was " + slot);
    }
    for (EmbeddedRedisServer node : live()) {
      String[] lines = command(node, "CLUSTER", "NODES").split("\n");
      for (String line : lines) {
        String[] f = line.trim().split(" ");
        if (f.length < 9 || !f[2].contains("master") || f[2].contains("fail")) {
          continue;
        }
        for (int i = 8; i < f.length; i++) {
          String range = f[i];
          if (range.startsWith("[")) {
            continue; // a slot being migrated or imported
          }
          int dash = range.indexOf('-');
          int from = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
          int to = dash < 0 ? from : Integer.parseInt(range.substring(dash + 1));
          if (slot >= from && slot <= to) {
            String address = f[1].split(",")[0]; // ip:port@cport[,hostname]
            int port = Integer.parseInt(address.substring(address.indexOf(':') + 1, address.contains("@")
                ? address.indexOf('@') : address.length()));
            return nodes.stream().filter(n -> n.port() == port).findFirst().orElseThrow();
          }
        }
      }
      return null; // the first live node's view is the answer; no master for the slot
    }
    return null;
  }

  @Override
  public List<String> seedUris() {
    return nodes.stream().map(EmbeddedRedisServer::uri).toList();
  }

  @Override
  public List<RedisServer> replicasOf(RedisServer master) {
    List<RedisServer> replicas = new ArrayList<>();
    for (String line : command(master, "INFO", "replication").split("\r?\n")) {
      // slave0:ip=127.0.0.1,port=41234,state=online,offset=...,lag=0
      if (line.matches("slave\\d+:.*")) {
        for (String field : line.substring(line.indexOf(':') + 1).split(",")) {
          if (field.startsWith("port=")) {
            int port = Integer.parseInt(field.substring("port=".length()));
            nodes.stream().filter(n -> n.port() == port).findFirst().ifPresent(replicas::add);
          }
        }
      }
    }
    return replicas;
  }

  @Override
  public void killMaster(RedisServer master) {
    if (!(master instanceof EmbeddedRedisServer node) || !nodes.contains(node) || !masters().contains(node)) {
      throw new IllegalArgumentException(master + " is not a live master of this cluster (masters: " + masters() + ")");
    }
    node.sigkill();
  }

  @Override
  public void failOverLosing(RedisServer master, WhileCutOff writes, Duration timeout) throws Exception {
    List<RedisServer> cutOff = cutOffReplicas(master);
    try {
      writes.run();
    } catch (Exception | Error e) {
      cutOff.forEach(RedisServer::resume);
      throw e;
    }
    failOverToCutOff(master, cutOff, timeout);
  }

  @Override
  public List<RedisServer> cutOffReplicas(RedisServer master) {
    List<RedisServer> replicas = replicasOf(master);
    if (replicas.isEmpty()) {
      throw new IllegalArgumentException(master + " has no replica to fail over to");
    }
    replicas.forEach(RedisServer::pause);
    try {
      command(master, "CLIENT", "KILL", "TYPE", "replica");
    } catch (RuntimeException e) {
      replicas.forEach(RedisServer::resume);
      throw e;
    }
    return replicas;
  }

  @Override
  public void failOverToCutOff(RedisServer master, List<RedisServer> cutOff, Duration timeout) {
    try {
      killMaster(master);
    } finally {
      cutOff.forEach(RedisServer::resume);
    }
    try {
      awaitHealthy(timeout);
    } finally {
      master.start(); // rejoins from its nodes.conf as a replica of whoever holds its slots now
      awaitHealthy(timeout);
    }
  }

  @Override
  public void killMasterAndAwaitFailover(RedisServer master, Duration timeout) {
    killMaster(master);
    awaitHealthy(timeout);
  }

  @Override
  public void flushAll() {
    masters().forEach(RedisServer::flushAll);
  }

  void stop() {
    nodes.forEach(node -> {
      try {
        node.stop();
      } catch (RuntimeException e) {
        // best effort: the stack deletes the directory anyway
      }
    });
  }

  /** The whole reply as text; an error reply throws, naming the command and the node. */
  private static String command(RedisServer node, String... args) {
    try {
      String reply = RespClient.text("127.0.0.1", node.port(), null, TIMEOUT_MILLIS, args);
      if (reply.startsWith("-")) {
        throw new IllegalStateException(String.join(" ", List.of(args).subList(0, Math.min(2, args.length)))
            + " on cluster node " + node.port() + ": " + reply);
      }
      return reply;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", List.of(args).subList(0, Math.min(2, args.length)))
          + " on cluster node " + node.port() + ": " + e.getMessage(), e);
    }
  }

  @FunctionalInterface
  private interface Condition {
    boolean holds();
  }

  private static void await(String what, Duration timeout, Condition condition) {
    await(what, timeout, condition, () -> "");
  }

  /** As {@link #await(String, Duration, Condition)}; on timeout the message ends with {@code state}'s text. */
  private static void await(String what, Duration timeout, Condition condition,
      java.util.function.Supplier<String> state) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (RuntimeException e) {
        last = e; // a node that is starting or failing over
      }
      try {
        Thread.sleep(50); // polling a condition, not waiting for a race
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    String seen;
    try {
      seen = state.get();
    } catch (RuntimeException e) {
      seen = " (state unreadable: " + e.getMessage() + ")";
    }
    throw new IllegalStateException("Redis Cluster: " + what + " not reached within " + timeout
        + (last == null ? "" : " (last error: " + last.getMessage() + ")") + seen, last);
  }

  @Override
  public String toString() {
    return "embedded Redis Cluster of " + nodes.size() + " nodes on ports " + nodes.stream()
        .map(EmbeddedRedisServer::port).toList();
  }
}
