package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.FenceProtocol;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of {@code listenerStalenessBound} on a Redis Cluster (d36d1c2). A {@link RedisInvalidator} stands for
 * the listener, called the way {@code ProgressPublisher} and {@code BatchApplier} call it.
 */
class ClusterListenerWatchReviewIT extends RealServersTest {

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

  private RedisServer masterOfProgress(String ns) {
    return cluster.masterOf(SlotHash.getSlot(FenceProtocol.PROGRESS_PREFIX + ns));
  }

  private RedisServer masterOfKey(long id) {
    return cluster.masterOf(SlotHash.getSlot(redisKey(id)));
  }

  /**
   * The namespaces of one publish, their second pass handed out only when the test lets it go. On a cluster
   * {@code publish} goes over them once to read each hash's clock before it checks the sequence on every master, and
   * once more after the check, to write the progress hashes: this holds the listener exactly there, as a GC pause, a
   * slow network or a busy scheduler can.
   */
  private static final class HeldNamespaces extends java.util.AbstractList<String> {
    final CountDownLatch reached = new CountDownLatch(1);
    final CountDownLatch released = new CountDownLatch(1);
    private final List<String> namespaces;
    private int reads;

    HeldNamespaces(List<String> namespaces) {
      this.namespaces = List.copyOf(namespaces);
    }

    @Override
    public String get(int index) {
      if (++reads <= namespaces.size()) {
        return namespaces.get(index); // the first pass: before the check
      }
      reached.countDown();
      try {
        released.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return namespaces.get(index);
    }

    @Override
    public int size() {
      return namespaces.size();
    }
  }

  /**
   * The namespace's progress hash lives on master A, one of its keys on master B. The listener checks its sequence on
   * every master (B still holds everything), then, before it writes the progress hash on A, B fails over to a replica
   * that never got the listener's last invalidation (nor the sequence written after it). The reader sees B's
   * connection drop, recovers, and marks the moment the listener must reach; the listener's progress write then lands
   * on A, stamped by A's clock at write time, past the mark: the namespace is trusted again while B serves the value
   * the lost invalidation had removed. In the single-Redis design the check and the write are one atomic script, and a
   * loss takes the progress hash with it; here the check is no proof about the moment the progress is stamped.
   */
  @Test
  void aFailoverLosingInvalidationsBetweenTheSequenceCheckAndTheProgressWriteRestoresTrustInTheLostValues()
      throws Exception {
    RedisServer progressMaster = masterOfProgress(namespace);
    long id = 1;
    while (masterOfKey(id).equals(progressMaster)) {
      id++;
    }
    long key = id;
    RedisServer dataMaster = masterOfKey(key);
    products.insert(key, "v1");
    RedisInvalidator listener = listener();
    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    await().atMost(WITHIN).ignoreExceptions().until(() -> publish(listener, List.of(namespace))
        == ProgressOutcome.PUBLISHED && !readerJvm.listenerUntrusted(namespace));
    assertThat(reader.get(key, loader()).name()).isEqualTo("v1"); // filled in Redis, on master B
    try (var client = io.lettuce.core.RedisClient.create(dataMaster.uri()); var connection = client.connect()) {
      connection.sync().set("{" + redisKey(key) + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("B's replica has v1").isEqualTo(1L);
    }

    HeldNamespaces held = new HeldNamespaces(List.of(namespace));
    CompletableFuture<ProgressOutcome> publishing = new CompletableFuture<>();
    cluster.failOverLosing(dataMaster, () -> {
      // A batch: the row's update is invalidated on B, then the sequence is advanced (B takes both, its replica not).
      Product v2 = products.update(key, "v2");
      listener.invalidate(List.of(new KeyInvalidation(namespace, String.valueOf(key), v2.version(), 60_000)));
      assertThat(listener.advanceSequence("cdc", "i1", sequence, sequence + 1)).isEqualTo(ProgressOutcome.PUBLISHED);
      sequence++;
      // The next batch carries a marker: publish. Every master's sequence is checked (B still has everything).
      long last = sequence;
      sequence++;
      new Thread(() -> {
        try {
          publishing.complete(listener.publishProgress("cdc", "i1", held, last, last + 1, 0));
        } catch (RuntimeException e) {
          publishing.completeExceptionally(e);
        }
      }, "listener").start();
      assertThat(held.reached.await(WITHIN.toSeconds(), TimeUnit.SECONDS)).as("every master's sequence checked")
          .isTrue();
    }, HEALTHY);

    try {
      // The reader lost its connection to B: distrusted; once back, its first poll marks what the listener must reach.
      // The topology settles after the failover (routing connections to the promoted replica, the old master's
      // return): wait for two polls with no new recovery between them, so that the mark is the last one.
      awaitSettled(readerJvm, namespace);
      assertThat(readerJvm.listenerUntrusted(namespace)).as("waiting for the listener to pass the recovery").isTrue();
    } finally {
      held.released.countDown();
    }
    assertThat(publishing.get(WITHIN.toSeconds(), TimeUnit.SECONDS)).as("the listener's publish, checked before")
        .isEqualTo(ProgressOutcome.PUBLISHED);
    awaitPolls(readerJvm, namespace, 2); // the reader has read the progress the held publish wrote
    assertThat(readerJvm.listenerUntrusted(namespace))
        .as("progress stamped before the check does not pass the mark taken after B's loss").isTrue();

    assertThat(products.find(key).name()).isEqualTo("v2");
    assertThat(reader.get(key, loader()).name())
        .as("not trusted again by progress written after B lost the invalidation: B's restored value is not served")
        .isEqualTo("v2");
    assertThat(publish(listener, List.of(namespace))).as("the listener's next check finds B's loss")
        .isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
  }

  /**
   * A running client watches another namespace. The listener published progress (this namespace's hash on master A,
   * fresh), then master B, holding one of this namespace's keys, fails over to a replica that never got the listener's
   * last invalidation. The client sees B's connection drop and recovers: its watched caches wait for the listener to
   * pass the recovery. A cache of this namespace created now (after the recovery, before the listener published
   * again) marks nothing: its first poll reads A's hash, untouched by B's loss and within the bound, and it trusts at
   * once, serving B's restored value. On a single Redis the loss would have taken the hash with it (or restored one as
   * old as the data); on a cluster it leaves a fresh hash on another master. {@code watch} logs "from the listener's
   * first progress after now", which only holds for caches created before the client's first recovery.
   */
  @Test
  void aCacheCreatedAfterARecoveryFromAFailoverLosingInvalidationsTrustsProgressPublishedBeforeTheLoss()
      throws Exception {
    RedisServer progressMaster = masterOfProgress(namespace);
    long id = 1;
    while (masterOfKey(id).equals(progressMaster)) {
      id++;
    }
    long key = id;
    RedisServer dataMaster = masterOfKey(key);
    String other = namespace + "other";
    products.insert(key, "v1");
    RedisInvalidator listener = listener();
    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    readerJvm.cacheAside(CacheOptions.<Long, Product>builder(other, ValueCodec.json(Product.class))
        .version(Product::version).listenerStalenessBound(BOUND).build());
    Veracache fillerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    assertThat(fillerJvm.cacheAside(productOptions().build()).get(key, loader()).name()).isEqualTo("v1");
    try (var client = io.lettuce.core.RedisClient.create(dataMaster.uri()); var connection = client.connect()) {
      connection.sync().set("{" + redisKey(key) + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("B's replica has v1").isEqualTo(1L);
    }
    await().atMost(WITHIN).ignoreExceptions().until(() -> publish(listener, List.of(namespace, other))
        == ProgressOutcome.PUBLISHED && !readerJvm.listenerUntrusted(other));

    cluster.failOverLosing(dataMaster, () -> {
      // A batch: the row's update is invalidated on B, then the sequence is advanced (B takes both, its replica not).
      Product v2 = products.update(key, "v2");
      listener.invalidate(List.of(new KeyInvalidation(namespace, String.valueOf(key), v2.version(), 60_000)));
      assertThat(listener.advanceSequence("cdc", "i1", sequence, sequence + 1)).isEqualTo(ProgressOutcome.PUBLISHED);
      sequence++;
    }, HEALTHY);
    awaitSettled(readerJvm, other);
    assertThat(readerJvm.listenerUntrusted(other)).as("the running cache waits for the listener").isTrue();

    // The listener has not published since (its next publish would find B's loss). A cache created now:
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    assertThat(products.find(key).name()).isEqualTo("v2");
    assertThat(reader.get(key, loader()).name())
        .as("a cache created after the recovery trusts progress published before B lost the invalidation")
        .isEqualTo("v2");
  }

  /**
   * The listener's sequence key on master B is {@code ...{n}} for the smallest n whose slot B serves. A resharding
   * moves that slot (and the key, holding the sequence written after the listener's last invalidation on B) to master
   * C while B's replica lags; B then fails over to that replica, losing the invalidation. At the next publish the old
   * tag is checked where its slot lives now (C: intact), and the promoted replica's own tag, new to the listener, is
   * written without any check: nothing checks B's successor at all, the loss is never found, progress is published,
   * and readers trust B's restored value for good. The commit relies on "a loss on any master is still found by the
   * per-master sequences before any progress is written".
   */
  @Test
  void aLossOnAMasterWhoseSequenceSlotWasReshardedAwayIsNeverFoundAndItsNamespaceIsTrusted() throws Exception {
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
        // A resharding moves the slot of B's sequence key, with the key, to another master.
        moveSlotReplacing(sequenceSlot, dataMaster, elsewhere);
      }, HEALTHY);
      moved = true;
      assertThat(cluster.masterOf(sequenceSlot)).as("the resharded slot stays where it went").isEqualTo(elsewhere);
      awaitSettled(readerJvm, namespace);

      ProgressOutcome outcome = await().atMost(WITHIN).ignoreExceptions().until(
          () -> publish(listener, List.of(namespace)), java.util.Objects::nonNull);
      if (outcome == ProgressOutcome.PUBLISHED) {
        await().atMost(WITHIN).until(() -> !readerJvm.listenerUntrusted(namespace));
        assertThat(reader.get(key, loader()).name())
            .as("trusted: the promoted replica's restored value is served, the loss never found").isEqualTo("v2");
      }
      assertThat(outcome).as("B's successor lost the listener's last invalidation and sequence")
          .isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
    } finally {
      RedisServer owner = cluster.masterOf(sequenceSlot);
      if (moved && !owner.equals(cluster.masterOf(SlotHash.getSlot(redisKey(key))))) {
        moveSlotReplacing(sequenceSlot, owner, cluster.masterOf(SlotHash.getSlot(redisKey(key))));
      }
    }
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
