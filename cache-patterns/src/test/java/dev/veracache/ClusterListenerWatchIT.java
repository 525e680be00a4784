package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code listenerStalenessBound} on a Redis Cluster: each namespace's progress hash lives in its own slot, so the
 * listener publishes it in a call of its own after checking its sequence on every master, and a client reads each
 * namespace's hash from the master holding it, against that master's clock. The two namespaces of these tests have
 * their hashes on different masters. A {@link RedisInvalidator} stands for the listener, as in {@link ListenerWatchIT}.
 */
class ClusterListenerWatchIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);
  private static final Duration BOUND = Duration.ofSeconds(5);

  private RedisCluster cluster;
  private long sequence;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
  }

  private RedisInvalidator listener() {
    RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.clusterBuilder(cluster.seedUris()).build());
    closeLater(invalidator);
    return invalidator;
  }

  private ProgressOutcome publish(RedisInvalidator listener, List<String> namespaces, long lagMillis) {
    long last = sequence;
    sequence++;
    return listener.publishProgress("cdc", "i1", namespaces, last, sequence, lagMillis);
  }

  private RedisServer masterOfProgress(String ns) {
    return cluster.masterOf(SlotHash.getSlot(FenceProtocol.PROGRESS_PREFIX + ns));
  }

  /** A second namespace whose progress hash is on another master than this test's namespace's. */
  private String namespaceOnAnotherMaster() {
    for (int i = 0; ; i++) {
      String candidate = namespace + "x" + i;
      if (!masterOfProgress(candidate).equals(masterOfProgress(namespace))) {
        return candidate;
      }
    }
  }

  private CacheAside<Long, Product> watchedCache(Veracache jvm, String ns) {
    return jvm.cacheAside(CacheOptions.<Long, Product>builder(ns, ValueCodec.json(Product.class))
        .version(Product::version).listenerStalenessBound(BOUND).build());
  }

  @Test
  void namespacesWhoseProgressIsOnDifferentMastersAreEachTrustedWithinTheBoundAndBypassedBehindIt() {
    String other = namespaceOnAnotherMaster();
    RedisInvalidator listener = listener();
    Veracache jvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> first = watchedCache(jvm, namespace);
    CacheAside<Long, Product> second = watchedCache(jvm, other);
    assertThat(jvm.listenerUntrusted(namespace)).as("no progress published yet").isTrue();
    assertThat(jvm.listenerUntrusted(other)).as("no progress published yet").isTrue();

    await().atMost(WITHIN).until(() -> publish(listener, List.of(namespace, other), 0) == ProgressOutcome.PUBLISHED
        && !jvm.listenerUntrusted(namespace) && !jvm.listenerUntrusted(other));
    AtomicInteger loads = new AtomicInteger();
    CacheLoader<Long, Product> database = id -> new Product(id, "database " + loads.incrementAndGet(), 1);
    assertThat(first.get(1L, database).name()).isEqualTo("database 1");
    assertThat(second.get(1L, database).name()).isEqualTo("database 2");
    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> firstReader = watchedCache(readerJvm, namespace);
    CacheAside<Long, Product> secondReader = watchedCache(readerJvm, other);
    // A client trusts only progress published after it came: the listener publishes on.
    await().atMost(WITHIN).until(() -> publish(listener, List.of(namespace, other), 0) == ProgressOutcome.PUBLISHED
        && !readerJvm.listenerUntrusted(namespace) && !readerJvm.listenerUntrusted(other));
    assertThat(firstReader.get(1L, database).name()).as("trusted: served from Redis").isEqualTo("database 1");
    assertThat(secondReader.get(1L, database).name()).as("trusted: served from Redis").isEqualTo("database 2");

    // The second namespace's listener falls a minute behind; the first stays current.
    assertThat(publish(listener, List.of(namespace), 0)).isEqualTo(ProgressOutcome.PUBLISHED);
    assertThat(publish(listener, List.of(other), 60_000)).isEqualTo(ProgressOutcome.PUBLISHED);
    await().atMost(WITHIN).until(() -> readerJvm.listenerUntrusted(other));
    assertThat(readerJvm.listenerStaleness(other)).hasValueSatisfying(d -> assertThat(d).isGreaterThan(
        Duration.ofSeconds(50)));
    assertThat(readerJvm.listenerUntrusted(namespace)).as("the first namespace's listener is current").isFalse();

    Veracache freshJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> firstFresh = watchedCache(freshJvm, namespace);
    CacheAside<Long, Product> secondFresh = watchedCache(freshJvm, other);
    await().atMost(WITHIN).until(() -> publish(listener, List.of(namespace), 0) == ProgressOutcome.PUBLISHED
        && !freshJvm.listenerUntrusted(namespace));
    assertThat(firstFresh.get(1L, database).name()).as("trusted: served from Redis").isEqualTo("database 1");
    assertThat(secondFresh.get(1L, database).name()).as("untrusted: Redis is bypassed").isEqualTo("database 3");
  }

  @Test
  void aProgressHashLostOnItsMasterDistrustsItsNamespaceOnly() {
    String other = namespaceOnAnotherMaster();
    RedisInvalidator listener = listener();
    Veracache jvm = newClusterInstance(cluster.seedUris(), b -> {});
    watchedCache(jvm, namespace);
    watchedCache(jvm, other);
    await().atMost(WITHIN).until(() -> publish(listener, List.of(namespace, other), 0) == ProgressOutcome.PUBLISHED
        && !jvm.listenerUntrusted(namespace) && !jvm.listenerUntrusted(other));

    onNode(masterOfProgress(other), c -> c.sync().del(FenceProtocol.PROGRESS_PREFIX + other)); // as a lossy failover
    await().atMost(WITHIN).until(() -> jvm.listenerUntrusted(other));
    assertThat(jvm.listenerUntrusted(namespace)).isFalse();
  }

  @Test
  void aMasterThatLostTheListenersSequenceFailsThePublishBeforeAnyProgressIsWritten() {
    RedisInvalidator listener = listener();
    assertThat(publish(listener, List.of(namespace), 0)).isEqualTo(ProgressOutcome.PUBLISHED);
    String progressKey = FenceProtocol.PROGRESS_PREFIX + namespace;
    String published = ClusterListenerWatchIT.<String>onNode(masterOfProgress(namespace), c -> c.sync().hget(progressKey, "cdc"));
    assertThat(published).isNotNull();

    // Another master than the one holding the hash loses every key of this listener, as a lossy failover would.
    RedisServer lossy = cluster.masters().stream().filter(m -> !m.equals(masterOfProgress(namespace))).findFirst()
        .orElseThrow();
    onNode(lossy, c -> {
      List<String> keys = c.sync().keys("veracache:cdc:cdc:seq:i1*");
      assertThat(keys).as("the listener's sequence on master %s", lossy.port()).isNotEmpty();
      keys.forEach(key -> c.sync().del(key)); // one at a time: they may be in different slots
      return keys.size();
    });

    assertThat(publish(listener, List.of(namespace), 60_000)).isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
    assertThat(ClusterListenerWatchIT.<String>onNode(masterOfProgress(namespace), c -> c.sync().hget(progressKey, "cdc")))
        .as("the progress hash is not written after a loss").isEqualTo(published);
  }

  /**
   * The trade made for {@code ClusterListenerWatchReviewIT}'s resharding case: once the slot of a master's sequence key
   * moved to another master, nothing written at the last publish vouches for the master it left (a failover of it
   * since would go unseen), so the listener's next check reports a possible loss and it flushes, rather than trust.
   */
  @Test
  void aMasterWhoseSequenceSlotWasReshardedAwayIsReportedAsAPossibleLoss() {
    RedisInvalidator listener = listener();
    assertThat(publish(listener, List.of(namespace), 0)).isEqualTo(ProgressOutcome.PUBLISHED);
    int tagSlot = SlotHash.getSlot("{0}");
    RedisServer from = cluster.masterOf(tagSlot);
    RedisServer to = cluster.masters().stream().filter(m -> !m.equals(from)).findFirst().orElseThrow();
    dev.veracache.stack.ClusterSurgery.moveSlot(cluster, tagSlot, from, to);
    try {
      await().atMost(WITHIN).ignoreExceptions().untilAsserted(() -> {
        long last = sequence;
        ProgressOutcome outcome = listener.publishProgress("cdc", "i1", List.of(namespace), last, last + 1, 0);
        assertThat(outcome).as("the check after slot %s (tag {0}) moved from %s to %s", tagSlot, from.port(),
            to.port()).isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
      });
    } finally {
      dev.veracache.stack.ClusterSurgery.moveSlot(cluster, tagSlot, to, from);
    }
  }

  private interface OnNode<T> {
    T run(StatefulRedisConnection<String, String> connection);
  }

  private static <T> T onNode(RedisServer node, OnNode<T> action) {
    RedisClient client = RedisClient.create(node.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      return action.run(connection);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
