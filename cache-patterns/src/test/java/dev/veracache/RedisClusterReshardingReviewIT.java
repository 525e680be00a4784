package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import dev.veracache.stack.ClusterSurgery;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A review of the L2 on a Redis Cluster under resharding, the everyday operation a cluster is for: a master added
 * without slots ({@code --cluster add-node}) and slots moved between masters ({@code --cluster reshard}:
 * {@code SETSLOT IMPORTING/MIGRATING}, {@code MIGRATE}, {@code SETSLOT NODE}). Each test puts the cluster back as it
 * found it (the embedded cluster is shared).
 */
class RedisClusterReshardingReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  private EmbeddedStack stack;
  private RedisCluster cluster;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    this.stack = stack;
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
  }

  private Veracache newClusterInstance() {
    return newClusterInstance(cluster.seedUris(), b -> {});
  }

  /**
   * While a slot migrates to a master that serves no slot yet (the first step of giving slots to a new node), a key
   * already moved is served by that master through ASK redirects, on a connection Lettuce opens to it. nodes() leaves
   * that master out (no slots), so tracking is never switched on there; yet the value read through it goes into L1,
   * and a change made there later sends this client no push. A topology read sees no change (a migration does not show
   * in the slots Lettuce reads), so nothing ever ends the tracking generation: L1 serves the old value as long as the
   * migration lasts.
   */
  @Test
  void aValueReadThroughAnAskRedirectToAMasterWithoutSlotsStaysStaleInL1AfterAnotherInstanceChangesIt()
      throws Exception {
    RedisServer newMaster = ClusterSurgery.addEmptyMaster(stack, cluster);
    long id = 1;
    String key = redisKey(id);
    int slot = SlotHash.getSlot(key);
    RedisServer owner = cluster.masterOf(slot);
    try {
      Veracache jvmA = newClusterInstance();
      Veracache jvmB = newClusterInstance();
      CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
      CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
      products.insert(id, "v1");
      a.get(id, loader()); // fills Redis, on the slot's owner
      jvmA.awaitPushesSoFar();

      ClusterSurgery.beginMigration(slot, owner, newMaster);
      ClusterSurgery.migrateKeys(owner, newMaster, List.of(key));

      // A reads the key: its owner answers ASK, and the value comes from the new master.
      await().atMost(WITHIN).until(() -> {
        a.get(id, loader());
        return !jvmA.degraded() && inL1(a, id);
      });
      assertThat(a.get(id, loader()).name()).isEqualTo("v1");

      // A control: a key of another master, in A's L1 too, changed by B at the same time.
      long control = otherMastersId(owner);
      products.insert(control, "v1");
      warmL1(jvmA, a, control, loader());

      Product v2 = products.update(id, "v2");
      b.invalidate(id, v2.version());
      Product control2 = products.update(control, "v2");
      b.invalidate(control, control2.version());
      assertThat(jvmB.pendingInvalidations()).as("B's invalidations were taken").isZero();
      assertThat(recordOnImportingNode(newMaster, key)).as("the record on the new master after B's invalidation")
          .doesNotContain("v1");

      jvmA.refreshTopology(); // reads the topology: the migration does not show, so it finds no change
      jvmA.awaitPushesSoFar();
      assertThat(eventually(() -> !inL1(a, control))).as("the control key, changed on its master, left A's L1")
          .isTrue();
      boolean dropped = eventually(() -> !inL1(a, id));
      assertThat(a.get(id, loader()).name())
          .as("A's read after B changed the key on the master A was ASK-redirected to (dropped from L1: %s, A "
              + "degraded: %s)", dropped, jvmA.degraded())
          .isEqualTo("v2");
    } finally {
      ClusterSurgery.abortMigration(slot, owner, newMaster);
      ClusterSurgery.removeNode(cluster, newMaster);
      cluster.awaitHealthy(Duration.ofSeconds(30));
    }
  }

  /**
   * awaitDurability WAITs on each master of nodes(), on that master's routing connection; an invalidation that an ASK
   * redirect took to a master without slots was written on another connection, to a master nodes() leaves out. Here
   * that master has no replica at all, so no WAIT for one replica can succeed for it: the listener is told the
   * invalidation is on a replica when it is on none.
   */
  @Test
  void awaitDurabilityNeverWaitsForAnInvalidationAnAskRedirectTookToAMasterWithoutSlots() throws Exception {
    RedisServer newMaster = ClusterSurgery.addEmptyMaster(stack, cluster);
    long id = 1;
    String key = redisKey(id);
    int slot = SlotHash.getSlot(key);
    RedisServer owner = cluster.masterOf(slot);
    try {
      Veracache jvm = newClusterInstance();
      CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
      products.insert(id, "v1");
      cache.get(id, loader()); // the record, on the slot's owner

      ClusterSurgery.beginMigration(slot, owner, newMaster);
      ClusterSurgery.migrateKeys(owner, newMaster, List.of(key));
      assertThat(ClusterSurgery.command(newMaster, "INFO", "replication")).contains("connected_slaves:0");

      Product v2 = products.update(id, "v2");
      // WAIT blocks on the connection until replicas acknowledge: a command timeout longer than WAIT's own.
      try (RedisInvalidator invalidator = RedisInvalidator.create(jvm.options().toBuilder().clientName("cdc")
          .commandTimeout(Duration.ofSeconds(10)).build())) {
        // No control WAIT here: durability is asked of every live master, those serving no slot too (an ASK may have
        // sent an invalidation there), so a master without a replica fails it whether or not it took a write yet.

        invalidator.invalidate(List.of(new KeyInvalidation(namespace, Long.toString(id), v2.version(), 60_000)));
        assertThat(recordOnImportingNode(newMaster, key)).as("the invalidation landed on the new master")
            .doesNotContain("v1");

        assertThatThrownBy(() -> invalidator.awaitDurability(1, false, Duration.ofMillis(500)))
            .as("one replica asked for an invalidation held by a master that has none")
            .isInstanceOf(CacheUnavailableException.class)
            .hasMessageContaining(":" + newMaster.port());
      }
    } finally {
      ClusterSurgery.abortMigration(slot, owner, newMaster);
      ClusterSurgery.removeNode(cluster, newMaster);
      cluster.awaitHealthy(Duration.ofSeconds(30));
    }
  }

  /**
   * The listener's sequence key on a master is tagged with the smallest hash tag {n} whose slot that master serves.
   * Resharding the slot of such a tag to another master (the key moves with its slot; nothing is lost) changes which
   * tag names the first master: its sequence key is then absent, and the next check says Redis lost data, so the
   * listener flushes every mapped namespace (FLUSH_NAMESPACES) or stops (FAIL).
   */
  @Test
  void movingTheSlotOfAMastersKeyTagMakesTheListenerBelieveRedisLostData() {
    String listener = "seq-" + namespace;
    Veracache jvm = newClusterInstance();
    try (RedisInvalidator invalidator = RedisInvalidator.create(jvm.options().toBuilder().clientName("cdc").build())) {
      assertThat(invalidator.advanceSequence(listener, "i1", 0, 1)).isEqualTo(ProgressOutcome.PUBLISHED);
      assertThat(invalidator.advanceSequence(listener, "i1", 1, 2)).isEqualTo(ProgressOutcome.PUBLISHED);
    }
    int tagSlot = SlotHash.getSlot("{0}");
    RedisServer from = cluster.masterOf(tagSlot);
    RedisServer to = cluster.masters().stream().filter(m -> !m.equals(from)).findFirst().orElseThrow();
    ClusterSurgery.moveSlot(cluster, tagSlot, from, to);
    try {
      Veracache later = newClusterInstance(); // reads the topology as it is now
      try (RedisInvalidator invalidator =
          RedisInvalidator.create(later.options().toBuilder().clientName("cdc").build())) {
        assertThat(invalidator.advanceSequence(listener, "i1", 2, 3))
            .as("the next check after slot %s (tag {0}) moved from %s to %s with its keys", tagSlot, from.port(),
                to.port())
            .isEqualTo(ProgressOutcome.PUBLISHED);
      }
    } finally {
      ClusterSurgery.moveSlot(cluster, tagSlot, to, from);
      cluster.awaitHealthy(Duration.ofSeconds(30));
    }
  }

  /** An id from 2 up whose key's slot a master other than {@code master} serves. */
  private long otherMastersId(RedisServer master) {
    for (long id = 2; ; id++) {
      if (!master.equals(cluster.masterOf(SlotHash.getSlot(redisKey(id))))) {
        return id;
      }
    }
  }

  /** The cluster is left as found: every master serving slots has its replica attached (a failover test needs it). */
  @org.junit.jupiter.api.AfterEach
  void everyMasterKeepsItsReplica() {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (RedisServer master : cluster.masters()) {
        assertThat(ClusterSurgery.command(master, "INFO", "replication")).as("master %s", master.port())
            .contains("connected_slaves:1");
      }
    });
  }

  /** What a node importing a slot holds under a key of it (ASKING first), as text; null when absent. */
  private static String recordOnImportingNode(RedisServer node, String key) {
    RedisClient client = RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      connection.sync().asking();
      String value = connection.sync().get(key);
      return value == null ? null : new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    } finally {
      client.shutdown();
    }
  }

  /** Whether the condition holds within {@link #WITHIN}: for a push that a correct client gets at once. */
  private static boolean eventually(java.util.concurrent.Callable<Boolean> condition) {
    try {
      await().atMost(WITHIN).until(condition);
      return true;
    } catch (ConditionTimeoutException e) {
      return false;
    }
  }
}
