package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.stack.ClusterSurgery;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A review of which connections of Lettuce's cluster client end the tracking generation; these held. RedisLink counts
 * as routing every node connection made with its codec, and Lettuce also opens such connections for commands not
 * routed by slot (a SCAN through one connection per master keyed by node id, SCRIPT LOAD on every node, replicas
 * included). They cost no L1 because the CLIENT SETNAME the link sends at start opens a connection by node id and by
 * host and port to every node of the topology before tracking starts listening; these tests pin that, so a change there
 * (no name set, a node added later) shows. A killed routing connection of one master degrades the client and L1 starts
 * over.
 */
class RedisClusterConnectionsReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  private RedisCluster cluster;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
  }

  private Veracache newClusterInstance() {
    return newClusterInstance(cluster.seedUris(), b -> {});
  }

  private CacheOptions.Builder<Long, Product> otherOptions() {
    return CacheOptions.<Long, Product>builder(namespace + "x", ValueCodec.json(Product.class)).version(Product::version);
  }

  /**
   * A master paused (SIGSTOP: the kernel accepts the connection, nothing answers) when a client starts: the start is
   * bounded by the client's own timeouts on every connection, the seeds' and the nodes' the topology names (it took
   * about two minutes, Lettuce's default one-minute handshake twice), and the client serves the keys of the others.
   */
  @Test
  void aClientStartedWhileAMasterIsPausedDoesNotWaitForItBeyondItsOwnTimeouts() throws Exception {
    products.insert(1, "v1");
    RedisServer paused = cluster.masters().get(0);
    long id = 1;
    while (cluster.masterOf(SlotHash.getSlot(redisKey(id))).equals(paused)) {
      products.insert(++id, "v" + id);
    }
    long otherId = id;
    paused.pause();
    try {
      Veracache jvm = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30),
          () -> newClusterInstance());
      CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
      assertThat(cache.get(otherId, loader()).name()).isEqualTo("v" + otherId);
    } finally {
      paused.resume();
      cluster.awaitHealthy(Duration.ofSeconds(30));
    }
  }

  /** invalidateAll of one cache (a SCAN over every master) costs another cache no L1. */
  @Test
  void invalidateAllOfOneCacheClearsTheL1OfEveryOtherCacheOfTheClient() throws Exception {
    Veracache jvm = newClusterInstance();
    CacheAside<Long, Product> kept = jvm.cacheAside(productOptions().build());
    CacheAside<Long, Product> flushed = jvm.cacheAside(otherOptions().build());
    long id = 1;
    products.insert(id, "v1");
    warmL1(jvm, kept, id, loader());
    double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");

    flushed.tiered().invalidateAll(); // another namespace: nothing of `kept` changes in Redis
    jvm.awaitPushesSoFar();
    await().atMost(WITHIN).until(() -> !jvm.degraded());

    assertThat(inL1(kept, id)).as("the other cache's entry, still in L1 (recovery clears since: %s)",
        counter(jvm, "veracache.l1.invalidations", "source", "recovery") - recoveries).isTrue();
  }

  /**
   * After a SCRIPT FLUSH (or a node restarted without its script cache) the next fence call loads its script on every
   * node, replicas included, through connections open since the start: no L1 is lost.
   */
  @Test
  void aScriptCacheFlushClearsEveryL1ThoughNoMasterChanged() throws Exception {
    // Load the scripts on every node first, so that the client under test finds them and opens no connection for it.
    Veracache first = newClusterInstance();
    CacheAside<Long, Product> warm = first.cacheAside(productOptions().build());
    long other = 1000;
    products.insert(other, "v1");
    warm.get(other, loader());

    Veracache jvm = newClusterInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    long id = 1;
    products.insert(id, "v1");
    warmL1(jvm, cache, id, loader());
    double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");

    for (RedisServer master : cluster.masters()) {
      ClusterSurgery.command(master, "SCRIPT", "FLUSH");
    }
    long next = 2;
    products.insert(next, "v1");
    cache.get(next, loader()); // a fill: NOSCRIPT, then SCRIPT LOAD on every node
    jvm.awaitPushesSoFar();
    await().atMost(WITHIN).until(() -> !jvm.degraded());

    assertThat(inL1(cache, id)).as("an entry nobody changed, still in L1 (recovery clears since: %s; L1 "
        + "invalidations by source: %s)", counter(jvm, "veracache.l1.invalidations", "source", "recovery")
        - recoveries, l1InvalidationsBySource(jvm)).isTrue();
  }

  /** Held on review: a master's routing connection killed by CLIENT KILL degrades the client; L1 starts over. */
  @Test
  void aKilledRoutingConnectionOfOneMasterDegradesTheClientAndClearsL1() throws Exception {
    Veracache jvm = newClusterInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    long id = 1;
    products.insert(id, "v1");
    warmL1(jvm, cache, id, loader());
    double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");

    RedisServer master = cluster.masterOf(SlotHash.getSlot(redisKey(3)));
    ClusterSurgery.command(master, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");

    await().atMost(WITHIN).until(() -> !jvm.degraded()
        && counter(jvm, "veracache.l1.invalidations", "source", "recovery") > recoveries);
    assertThat(inL1(cache, id)).as("cleared when tracking came back").isFalse();
  }
}
