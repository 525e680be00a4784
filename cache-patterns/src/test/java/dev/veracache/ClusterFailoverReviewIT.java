package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.stack.ClusterSurgery;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A review of what a Redis Cluster failover that loses writes does to the application's closing made for it,
 * {@code invalidationReplicas}: which writes it does not cover. Losses are made
 * deterministic as in {@link ClusterFailoverLossIT}: a master's replicas are paused and cut off
 * ({@link RedisCluster#cutOffReplicas}) while it takes the writes, then it is killed and they are resumed. Each test puts
 * the cluster back as it found it (the embedded cluster is shared).
 */
class ClusterFailoverReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);
  private static final Duration HEALTHY = Duration.ofSeconds(30);

  private RedisCluster cluster;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(HEALTHY);
    everyMasterKeepsItsReplica(); // a node another test restarted may still be attaching
  }

  /** The cluster is left as found: every master serving slots has its replica attached. */
  @AfterEach
  void everyMasterKeepsItsReplica() {
    await().atMost(HEALTHY).untilAsserted(() -> {
      for (RedisServer master : cluster.masters()) {
        assertThat(ClusterSurgery.command(master, "INFO", "replication")).as("master %s", master.port())
            .contains("connected_slaves:1");
      }
    });
  }

  // ---- invalidationReplicas: what the application writes besides invalidate(key) ----

  /**
   * invalidationReplicas WAITs after {@code invalidate(key)} only. A write-through set ({@code put}) replaces the old
   * value in Redis with no WAIT: the master takes it and returns, the promoted replica never got it, and the old value
   * is back for every reader until its TTL; nothing is pending anywhere to put it right.
   */
  @Test
  void withInvalidationReplicasAWriteThroughSetThePromotedReplicaNeverGotLeavesTheOldValueCached() throws Exception {
    long id = 21;
    products.insert(id, "v1");
    Veracache writerJvm = newClusterInstance(cluster.seedUris(), b -> b.invalidationReplicas(1));
    WriteThroughCache<Long, Product> writer = writerJvm.writeThrough(productOptions().build(), loader(),
        productWriter());
    writer.get(id); // v1 in Redis, on the key's master
    RedisServer master = cluster.masterOf(SlotHash.getSlot(redisKey(id)));
    ClusterSurgery.replicateEverythingSoFar(master, redisKey(id));

    cluster.failOverLosing(master, () -> writer.put(id, new Product(id, "v2", 0)), HEALTHY);
    assertThat(products.find(id).name()).isEqualTo("v2");
    await().atMost(WITHIN).until(() -> writerJvm.pendingInvalidations() == 0);

    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    assertThat(reader.get(id, loader()).name())
        .as("a reader after the failover (writer's pending invalidations: %s)", writerJvm.pendingInvalidations())
        .isEqualTo("v2");
  }

  /**
   * invalidationReplicas does not cover {@code invalidateAll()} either: its UNLINKs are taken by the master and never
   * waited for, so a failover that loses them brings every value of that master back.
   */
  @Test
  void withInvalidationReplicasAnInvalidateAllThePromotedReplicaNeverGotLeavesTheOldValueCached() throws Exception {
    long id = 22;
    products.insert(id, "v1");
    Veracache writerJvm = newClusterInstance(cluster.seedUris(), b -> b.invalidationReplicas(1));
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());
    writer.get(id, loader()); // v1 in Redis
    RedisServer master = cluster.masterOf(SlotHash.getSlot(redisKey(id)));
    ClusterSurgery.replicateEverythingSoFar(master, redisKey(id));

    cluster.failOverLosing(master, () -> {
      products.update(id, "v2");
      writer.tiered().invalidateAll(); // e.g. after a bulk update of the table
    }, HEALTHY);
    await().atMost(WITHIN).until(() -> writerJvm.pendingInvalidations() == 0);

    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    assertThat(reader.get(id, loader()).name())
        .as("a reader after the failover (writer's pending invalidations: %s)", writerJvm.pendingInvalidations())
        .isEqualTo("v2");
  }

  /**
   * invalidationReplicas WAITs on connectionOf(key): the master Lettuce's topology names for the key's slot. While that
   * slot migrates, a key already moved is written through an ASK redirect on the target master's connection; the WAIT
   * still goes to the source master, whose replica acknowledges at once (nothing was written there). The invalidation
   * counts as replicated while the only copy of it is on a master whose replica is cut off; a failover of the target
   * loses it, nothing is retried, and once the migration is completed the old value is served.
   */
  @Test
  void withInvalidationReplicasAnInvalidationAnAskRedirectTookElsewhereIsWaitedForOnTheWrongMaster()
      throws Exception {
    long id = 23;
    String key = redisKey(id);
    int slot = SlotHash.getSlot(key);
    RedisServer owner = cluster.masterOf(slot);
    RedisServer target = cluster.masters().stream().filter(m -> !m.equals(owner)).findFirst().orElseThrow();
    products.insert(id, "v1");
    // WAIT gets half the command timeout: long enough that the owner's replica always acknowledges in time here.
    Veracache writerJvm = newClusterInstance(cluster.seedUris(),
        b -> b.invalidationReplicas(1).commandTimeout(Duration.ofSeconds(4)));
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());
    writer.get(id, loader()); // v1 in Redis, on the owner
    ClusterSurgery.replicateEverythingSoFar(owner, key);

    List<RedisServer> cutOff = new ArrayList<>();
    RedisServer slotHolder = owner; // who serves the slot once the test is done with it
    RedisServer importing = target; // who imports the slot while it migrates
    try {
      ClusterSurgery.beginMigration(slot, owner, target);
      ClusterSurgery.migrateKeys(owner, target, ClusterSurgery.keysInSlot(owner, slot)); // the key, and the WAIT's
      replicateEverythingSoFarAsking(target, key); // the target's replica holds v1 too

      cutOff.addAll(cluster.cutOffReplicas(target));
      RedisServer promoted = cutOff.get(0); // the target's one replica: the one to take over
      Product v2 = products.update(id, "v2");
      writer.invalidate(id, v2.version()); // the owner answers ASK: the tombstone is written on the target
      assertThat(recordAsking(target, key)).as("the invalidation landed on the target").doesNotContain("v1");
      int pendingRightAfter = writerJvm.pendingInvalidations();

      cluster.failOverToCutOff(target, cutOff, HEALTHY);
      cutOff.clear();
      // The fault took effect: the promoted replica lost the tombstone. Read while the writer's retry of the pending
      // invalidation cannot land there (the owner still sends ASK to the old target, now a replica that answers
      // MOVED): the promoted node imports the slot, so an ASKING read is served, and only the test reads there.
      ClusterSurgery.command(promoted, "CLUSTER", "SETSLOT", Integer.toString(slot), "IMPORTING",
          ClusterSurgery.myId(owner));
      importing = promoted;
      assertThat(recordAsking(promoted, key))
          .as("the promoted replica of the target, before the migration completes (the writer's pending "
              + "invalidations right after invalidate: %s)", pendingRightAfter)
          .contains("v1");
      assertThat(pendingRightAfter).as("the writer's pending invalidations right after invalidate").isEqualTo(1);
      completeMigration(slot, owner, promoted); // as the operator's resharding would, to the target's successor
      slotHolder = promoted;
      await().atMost(WITHIN).until(() -> writerJvm.pendingInvalidations() == 0);

      Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
      CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
      assertThat(reader.get(id, loader()).name())
          .as("a reader after the failover (the writer's pending invalidations right after invalidate: %s)",
              pendingRightAfter)
          .isEqualTo("v2");
    } finally {
      cutOff.forEach(RedisServer::resume);
      if (slotHolder.equals(owner)) {
        deleteImportedKeys(importing, slot);
        ClusterSurgery.abortMigration(slot, owner, importing);
      } else {
        ClusterSurgery.moveSlot(cluster, slot, slotHolder, owner);
      }
      cluster.awaitHealthy(HEALTHY);
    }
  }

  // ---- helpers ----

  /** As {@link ClusterSurgery#replicateEverythingSoFar}, on a master importing key's slot (ASKING before the write). */
  private static void replicateEverythingSoFarAsking(RedisServer master, String key) {
    try (var client = closing(RedisClient.create(master.uri())); var connection = client.client.connect()) {
      connection.sync().asking();
      connection.sync().set("{" + key + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("the replica of %s", master.port())
          .isEqualTo(1L);
    }
  }

  /** What {@code node}, importing the key's slot, holds under {@code key} (ASKING first), as text; null when absent. */
  private static String recordAsking(RedisServer node, String key) {
    try (var client = closing(RedisClient.create(node.uri())); var connection = client.client.connect()) {
      connection.sync().asking();
      return connection.sync().get(key);
    }
  }

  private record Closing(RedisClient client) implements AutoCloseable {
    @Override
    public void close() {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }

  private static Closing closing(RedisClient client) {
    return new Closing(client);
  }

  /** Deletes the keys of {@code slot} a node importing it holds (ASKING before each), before the import is aborted. */
  private static void deleteImportedKeys(RedisServer node, int slot) {
    if (!node.isRunning()) {
      return;
    }
    try (var client = closing(RedisClient.create(node.uri())); var connection = client.client.connect()) {
      for (String key : connection.sync().clusterGetKeysInSlot(slot, 1000)) {
        connection.sync().asking();
        connection.sync().del(key);
      }
    }
  }

  /** {@code SETSLOT slot NODE to} on the new owner, the old one, then every other master. */
  private void completeMigration(int slot, RedisServer from, RedisServer to) {
    String toId = ClusterSurgery.myId(to);
    ClusterSurgery.command(to, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    ClusterSurgery.command(from, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    for (RedisServer master : cluster.masters()) {
      if (!master.equals(from) && !master.equals(to)) {
        ClusterSurgery.command(master, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
      }
    }
    await().atMost(HEALTHY).until(() -> to.equals(cluster.masterOf(slot)));
  }

}
