package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of 5dc1f75 (the per-master coverage of the listener's sequence on a Redis Cluster). A
 * {@link RedisInvalidator} stands for the listener, called the way {@code ProgressPublisher} and {@code BatchApplier}
 * call it.
 */
class ClusterCoverageReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);
  private static final Duration HEALTHY = Duration.ofSeconds(30);
  private static final Duration BOUND = Duration.ofSeconds(30);

  private RedisCluster cluster;
  private long sequence;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(HEALTHY);
  }

  private RedisInvalidator listener() {
    RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.clusterBuilder(cluster.seedUris())
        .commandTimeout(Duration.ofSeconds(5)).build());
    closeLater(invalidator);
    return invalidator;
  }

  private RedisServer masterOfKey(long id) {
    return cluster.masterOf(SlotHash.getSlot(redisKey(id)));
  }

  /**
   * As {@code ClusterListenerWatchReviewIT}'s resharding case, which 5dc1f75 fixed: the slot of master B's sequence
   * key moves to master C while B's replica lags, then B fails over to that replica, losing the listener's last
   * invalidation. The first publish after it now reports the possible loss (no tag of the last publish covers B's
   * successor). But that verdict is not kept: the check records the current topology as "the last publish" even when
   * it reports a loss, and the tags it checked already hold the new sequence. {@code BatchApplier.publishProgress} makes
   * the very same call again when a connection changed during the round (it always re-sends the batch and publishes
   * again before acting on the outcome; a failover or resharding is exactly when connections change), and
   * {@code retry.untilTaken} does too after a failure that surfaces after the check: that second call finds every tag
   * at the new sequence ("a retry of a publish that failed part-way") and every master covered by the record just
   * written, and publishes. The listener never flushes, and readers trust B's restored value.
   */
  @Test
  void aPossibleLossReportedByTheCoverageCheckIsForgottenWhenTheSameRoundIsPublishedAgain() throws Exception {
    RedisServer dataMaster = cluster.masterOf(SlotHash.getSlot(redisKey(1)));
    int tagSlot = -1;
    for (int n = 0; tagSlot < 0; n++) {
      int slot = SlotHash.getSlot("{" + n + "}");
      if (cluster.masterOf(slot).equals(dataMaster)) {
        tagSlot = slot; // where the listener keeps its sequence on B
      }
    }
    int sequenceSlot = tagSlot;
    long id = 1;
    while (!masterOfKey(id).equals(dataMaster) || SlotHash.getSlot(redisKey(id)) == sequenceSlot) {
      id++;
    }
    long key = id;
    RedisServer elsewhere = cluster.masters().stream().filter(m -> !m.equals(dataMaster)).findFirst().orElseThrow();
    products.insert(key, "v1");
    RedisInvalidator listener = listener();
    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    await().atMost(WITHIN).ignoreExceptions().until(() -> publish(listener, List.of(namespace))
        == ProgressOutcome.PUBLISHED && !readerJvm.listenerUntrusted(namespace));
    assertThat(reader.get(key, loader()).name()).isEqualTo("v1"); // filled on B
    try (var client = io.lettuce.core.RedisClient.create(dataMaster.uri()); var connection = client.connect()) {
      connection.sync().set("{" + redisKey(key) + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("B's replica has v1").isEqualTo(1L);
    }

    boolean moved = false;
    try {
      cluster.failOverLosing(dataMaster, () -> {
        Product v2 = products.update(key, "v2");
        listener.invalidate(List.of(new KeyInvalidation(namespace, String.valueOf(key), v2.version(), 60_000)));
        assertThat(listener.advanceSequence("cdc", "i1", sequence, sequence + 1))
            .isEqualTo(ProgressOutcome.PUBLISHED);
        sequence++;
        moveSlotReplacing(sequenceSlot, dataMaster, elsewhere);
      }, HEALTHY);
      moved = true;
      assertThat(cluster.masterOf(sequenceSlot)).as("the resharded slot stays where it went").isEqualTo(elsewhere);
      awaitSettled(readerJvm, namespace);

      long last = sequence;
      ProgressOutcome first = await().atMost(WITHIN).ignoreExceptions().until(
          () -> listener.publishProgress("cdc", "i1", List.of(namespace), last, last + 1, 0),
          java.util.Objects::nonNull);
      assertThat(first).as("the first check finds B's successor uncovered (5dc1f75's fix)")
          .isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
      // The same round again (BatchApplier: a connection changed while it ran; ProgressPublisher kept lastSequence).
      ProgressOutcome again = listener.publishProgress("cdc", "i1", List.of(namespace), last, last + 1, 0);
      if (again == ProgressOutcome.PUBLISHED) {
        await().atMost(WITHIN).until(() -> !readerJvm.listenerUntrusted(namespace));
        assertThat(reader.get(key, loader()).name())
            .as("trusted again without a flush: B's successor serves the value the lost invalidation removed")
            .isEqualTo("v2");
      }
      assertThat(again).as("the same round, published again: B's successor still lost the invalidation")
          .isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
    } finally {
      RedisServer owner = cluster.masterOf(sequenceSlot);
      if (moved && !owner.equals(cluster.masterOf(SlotHash.getSlot(redisKey(key))))) {
        moveSlotReplacing(sequenceSlot, owner, cluster.masterOf(SlotHash.getSlot(redisKey(key))));
      }
    }
  }

  /**
   * Coverage asks only that a tag of the last check lie in a master's slots now and that the master was then in its
   * lineage: not that the key stayed on that lineage in between. Between two checks, a resharding moves the slot of
   * master B's sequence key to master C (the key, holding the sequence written after the listener's last invalidation
   * on B, goes along), B fails over to a replica that lagged (losing that invalidation), and the slot is moved back to
   * B's successor (a rebalance, or a resharding undone). At the next check the key is where its lineage is, holding the
   * last sequence (it spent the failover on C), so B's successor counts as covered: the loss is never found, progress
   * is published and readers trust the restored value. The key proves C's continuity, not B's.
   */
  @Test
  @org.junit.jupiter.api.Disabled("open: a sequence key proves the continuity of the lineage it stayed on, and a slot "
      + "moved away and back between two checks carries it through another's; binding the proof to the master "
      + "(its replication id and offset, INFO replication) would close it. cache-patterns README, Redis Cluster")
  void aLossOnAMasterWhoseSequenceSlotMovedAwayAndBackBetweenTwoChecksIsNeverFound() throws Exception {
    RedisServer dataMaster = cluster.masterOf(SlotHash.getSlot(redisKey(1)));
    int tagSlot = -1;
    for (int n = 0; tagSlot < 0; n++) {
      int slot = SlotHash.getSlot("{" + n + "}");
      if (cluster.masterOf(slot).equals(dataMaster)) {
        tagSlot = slot; // where the listener keeps its sequence on B
      }
    }
    int sequenceSlot = tagSlot;
    long id = 1;
    while (!masterOfKey(id).equals(dataMaster) || SlotHash.getSlot(redisKey(id)) == sequenceSlot) {
      id++;
    }
    long key = id;
    RedisServer elsewhere = cluster.masters().stream().filter(m -> !m.equals(dataMaster)).findFirst().orElseThrow();
    products.insert(key, "v1");
    RedisInvalidator listener = listener();
    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    await().atMost(WITHIN).ignoreExceptions().until(() -> publish(listener, List.of(namespace))
        == ProgressOutcome.PUBLISHED && !readerJvm.listenerUntrusted(namespace));
    assertThat(reader.get(key, loader()).name()).isEqualTo("v1"); // filled on B
    try (var client = io.lettuce.core.RedisClient.create(dataMaster.uri()); var connection = client.connect()) {
      connection.sync().set("{" + redisKey(key) + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("B's replica has v1").isEqualTo(1L);
    }

    boolean moved = false;
    try {
      cluster.failOverLosing(dataMaster, () -> {
        Product v2 = products.update(key, "v2");
        listener.invalidate(List.of(new KeyInvalidation(namespace, String.valueOf(key), v2.version(), 60_000)));
        assertThat(listener.advanceSequence("cdc", "i1", sequence, sequence + 1))
            .isEqualTo(ProgressOutcome.PUBLISHED);
        sequence++;
        moveSlotReplacing(sequenceSlot, dataMaster, elsewhere); // the slot, with the key, goes to C
      }, HEALTHY);
      moved = true;
      RedisServer successor = masterOfKey(key);
      assertThat(successor).as("B failed over").isNotEqualTo(dataMaster);
      moveSlotReplacing(sequenceSlot, elsewhere, successor); // and comes back, to B's successor
      refreshTopology(listener); // Lettuce has seen both moves (it reads the topology every 2 s anyway)
      awaitSettled(readerJvm, namespace);

      ProgressOutcome outcome = await().atMost(WITHIN).ignoreExceptions().until(
          () -> publish(listener, List.of(namespace)), java.util.Objects::nonNull);
      if (outcome == ProgressOutcome.PUBLISHED) {
        await().atMost(WITHIN).until(() -> !readerJvm.listenerUntrusted(namespace));
        assertThat(reader.get(key, loader()).name())
            .as("trusted: B's successor serves the value the lost invalidation removed").isEqualTo("v2");
      }
      assertThat(outcome).as("B's successor lost the listener's last invalidation").isEqualTo(
          ProgressOutcome.REDIS_LOST_DATA);
    } finally {
      RedisServer owner = cluster.masterOf(sequenceSlot);
      if (moved && !owner.equals(cluster.masterOf(SlotHash.getSlot(redisKey(key))))) {
        moveSlotReplacing(sequenceSlot, owner, cluster.masterOf(SlotHash.getSlot(redisKey(key))));
      }
    }
  }

  /** A synchronous topology read by the listener's Lettuce client: the precondition, not the race, of a test. */
  private static void refreshTopology(RedisInvalidator listener) throws ReflectiveOperationException {
    java.lang.reflect.Field link = RedisInvalidator.class.getDeclaredField("link");
    link.setAccessible(true);
    ((dev.veracache.internal.RedisLink) link.get(listener)).refreshTopology();
  }

  /**
   * {@code ClusterSurgery.moveSlot}, with MIGRATE ... REPLACE: clients sharing one name write the same heartbeat key,
   * which may already be on the target.
   */
  private void moveSlotReplacing(int slot, RedisServer from, RedisServer to) {
    dev.veracache.stack.ClusterSurgery.beginMigration(slot, from, to);
    List<String> keys = dev.veracache.stack.ClusterSurgery.keysInSlot(from, slot);
    if (!keys.isEmpty()) {
      List<String> args = new java.util.ArrayList<>(List.of("MIGRATE", "127.0.0.1", Integer.toString(to.port()), "",
          "0", "5000", "REPLACE", "KEYS"));
      args.addAll(keys);
      dev.veracache.stack.ClusterSurgery.command(from, args.toArray(String[]::new));
    }
    String toId = dev.veracache.stack.ClusterSurgery.myId(to);
    dev.veracache.stack.ClusterSurgery.command(to, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    dev.veracache.stack.ClusterSurgery.command(from, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE", toId);
    for (RedisServer master : cluster.masters()) {
      if (!master.equals(from) && !master.equals(to)) {
        dev.veracache.stack.ClusterSurgery.command(master, "CLUSTER", "SETSLOT", Integer.toString(slot), "NODE",
            toId);
      }
    }
    await().atMost(HEALTHY).until(() -> cluster.masterOf(slot).equals(to));
  }

  /** Returns once the client has polled the namespace's progress {@code polls} more times (its staleness changed). */
  private static void awaitPolls(Veracache jvm, String ns, int polls) {
    for (int poll = 0; poll < polls; poll++) {
      Optional<Duration> before = jvm.listenerStaleness(ns);
      await().atMost(WITHIN).until(() -> !jvm.listenerStaleness(ns).equals(before));
    }
  }

  /** Waits until the client is out of degraded mode and two polls passed without another recovery in between. */
  private void awaitSettled(Veracache jvm, String ns) {
    await().atMost(HEALTHY).until(() -> {
      if (jvm.degraded()) {
        return false;
      }
      double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");
      awaitPolls(jvm, ns, 2);
      return !jvm.degraded() && counter(jvm, "veracache.l1.invalidations", "source", "recovery") == recoveries;
    });
  }

  private ProgressOutcome publish(RedisInvalidator listener, List<String> namespaces) {
    long last = sequence;
    ProgressOutcome outcome = listener.publishProgress("cdc", "i1", namespaces, last, last + 1, 0);
    if (outcome == ProgressOutcome.PUBLISHED) {
      sequence = last + 1;
    }
    return outcome;
  }
}
