package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The L2 on a Redis Cluster (the embedded one: three masters, one replica each): the fences are single-key scripts,
 * so each runs on the master of its key's slot; tracking is on every master's routing connection; a failover or a
 * connection Lettuce opens to a new node ends the tracking generation, and L1 starts over once every master tracks
 * again. Every key of these tests is chosen so that the three masters each serve some.
 */
class RedisClusterL2IT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  private RedisCluster cluster;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
  }

  /** One product id per master: the id whose cache key's slot that master serves (ids from 1 up). */
  private Map<RedisServer, Long> oneIdPerMaster() {
    Map<RedisServer, Long> ids = new LinkedHashMap<>();
    for (long id = 1; ids.size() < 3; id++) {
      ids.putIfAbsent(cluster.masterOf(SlotHash.getSlot(redisKey(id))), id);
    }
    return ids;
  }

  private Veracache newClusterInstance() {
    return newClusterInstance(cluster.seedUris(), b -> {});
  }

  @Test
  void aStaleFillIsRefusedOnEveryMaster() throws Exception {
    for (Map.Entry<RedisServer, Long> entry : oneIdPerMaster().entrySet()) {
      long id = entry.getValue();
      products.insert(id, "v1");
      Gate beforeFill = new Gate();
      Veracache readerJvm = newClusterInstance();
      Veracache writerJvm = newClusterInstance();
      CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().hooks(beforeFill.afterLoad()).build());
      CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());

      CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> reader.get(id, loader()));
      beforeFill.awaitArrival();
      Product v2 = products.update(id, "v2");
      writer.invalidate(id, v2.version());
      beforeFill.open();
      assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).as("the slow reader's own answer").isEqualTo("v1");

      assertThat(counter(readerJvm, "veracache.fills", "result", "refused_lease"))
          .as("the fill of id %s, on master %s, refused", id, entry.getKey().port()).isEqualTo(1);
      assertThat(reader.get(id, loader())).isEqualTo(v2);
      assertThat(writer.get(id, loader())).isEqualTo(v2);
    }
  }

  @Test
  void aChangeOnAnyMasterDropsAnotherInstancesL1() throws Exception {
    Veracache jvmA = newClusterInstance();
    Veracache jvmB = newClusterInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    List<Long> ids = new ArrayList<>(oneIdPerMaster().values());
    for (long id : ids) {
      products.insert(id, "v1");
      warmL1(jvmA, a, id, loader());
    }
    for (long id : ids) {
      Product v2 = products.update(id, "v2");
      b.invalidate(id, v2.version());
      await().atMost(WITHIN).until(() -> !inL1(a, id));
      assertThat(a.get(id, loader())).isEqualTo(v2);
    }
    // A writer outside Veracache, on whichever master serves the key.
    long outside = ids.get(2);
    warmL1(jvmA, a, outside, loader());
    RedisClusterClient plain = RedisClusterClient.create(cluster.seedUris().stream().map(RedisURI::create).toList());
    try (StatefulRedisClusterConnection<String, String> connection = plain.connect()) {
      connection.sync().del(redisKey(outside));
    } finally {
      plain.shutdown();
    }
    await().atMost(WITHIN).until(() -> !inL1(a, outside));
  }

  @Test
  void aTopologyReadThatFoundNoChangeKeepsL1() throws Exception {
    Veracache jvm = newClusterInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    long id = oneIdPerMaster().values().iterator().next();
    products.insert(id, "v1");
    warmL1(jvm, cache, id, loader());
    double recoveries = counter(jvm, "veracache.l1.invalidations", "source", "recovery");

    for (int i = 0; i < 3; i++) {
      jvm.refreshTopology(); // opens and closes Lettuce's own connections to every node
    }
    jvm.awaitPushesSoFar();

    assertThat(jvm.degraded()).isFalse();
    assertThat(inL1(cache, id)).as("still in L1").isTrue();
    assertThat(counter(jvm, "veracache.l1.invalidations", "source", "recovery")).isEqualTo(recoveries);
  }

  @Test
  void theCdcInvalidatorsBatchReachesEveryMasterAndKeepsEachKeysOrder() throws Exception {
    Veracache jvm = newClusterInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    List<Long> ids = new ArrayList<>(oneIdPerMaster().values());
    List<KeyInvalidation> batch = new ArrayList<>();
    for (long id : ids) {
      Product v1 = products.insert(id, "v1");
      warmL1(jvm, cache, id, loader());
      Product v2 = products.update(id, "v2");
      // The newer invalidation last: applied in this order per key, its floor is what stays.
      batch.add(new KeyInvalidation(namespace, Long.toString(id), v1.version(), 60_000));
      batch.add(new KeyInvalidation(namespace, Long.toString(id), v2.version(), 60_000));
    }
    for (int i = 0; i < 200; i++) {
      batch.add(new KeyInvalidation(namespace, "other-" + i, 1, 60_000)); // a batch of many slots
    }
    try (RedisInvalidator invalidator = RedisInvalidator.create(jvm.options().toBuilder().clientName("cdc").build())) {
      invalidator.invalidate(batch);
    }
    for (long id : ids) {
      await().atMost(WITHIN).until(() -> !inL1(cache, id));
      assertThat(cache.get(id, loader()).name()).isEqualTo("v2");
    }
  }

  @Test
  void theListenersSequenceIsCheckedOnEveryMasterSoALossOnOneIsFound() {
    Veracache jvm = newClusterInstance();
    try (RedisInvalidator invalidator = RedisInvalidator.create(jvm.options().toBuilder().clientName("cdc").build())) {
      String listener = "seq-" + namespace;
      assertThat(invalidator.advanceSequence(listener, "i1", 0, 1)).isEqualTo(ProgressOutcome.PUBLISHED);
      assertThat(invalidator.publishProgress(listener, "i1", List.of(namespace), 1, 2, 5))
          .as("progress: the sequence on every master, then the namespace's hash").isEqualTo(ProgressOutcome.PUBLISHED);
      for (RedisServer master : cluster.masters()) {
        assertThat(keysOn(master, "veracache:cdc:" + listener + ":seq:i1*")).as("on master %s", master.port())
            .hasSize(1);
      }
      RedisServer lost = cluster.masters().get(1);
      deleteOn(lost, keysOn(lost, "veracache:cdc:" + listener + ":seq:i1*").get(0)); // as a lagging replica's promotion
      assertThat(invalidator.advanceSequence(listener, "i1", 2, 3)).isEqualTo(ProgressOutcome.REDIS_LOST_DATA);
    }
  }

  @Test
  void whatNeedsTwoSlotsIsRefusedOnAClusterNamingWhy() {
    Veracache jvm = newClusterInstance();
    assertThatThrownBy(() -> jvm.flashSaleStock(StockOptions.builder("stock-" + namespace, "localhost:1", "sales").build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Redis Cluster");
  }

  @Test
  void aMasterFailoverDegradesTheClientAndLeavesNoStaleL1Entry() throws Exception {
    Veracache jvmA = newClusterInstance();
    Veracache jvmB = newClusterInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    Map.Entry<RedisServer, Long> onMaster = oneIdPerMaster().entrySet().iterator().next();
    long id = onMaster.getValue();
    products.insert(id, "v1");
    warmL1(jvmA, a, id, loader());
    double recoveries = counter(jvmA, "veracache.l1.invalidations", "source", "recovery");

    RedisServer master = onMaster.getKey();
    try {
      cluster.killMasterAndAwaitFailover(master, Duration.ofSeconds(30));
      Product v2 = products.update(id, "v2");
      // B's routing may still point at the dead master: then its invalidation is queued and retried until the new
      // master takes it (quiescence), as after any Redis failure.
      b.invalidate(id, v2.version());
      await().atMost(WITHIN).until(() -> jvmB.pendingInvalidations() == 0);
      await().atMost(WITHIN).until(() -> !jvmA.degraded()
          && counter(jvmA, "veracache.l1.invalidations", "source", "recovery") > recoveries);
      assertThat(a.get(id, loader())).as("after the failover").isEqualTo(v2);
      assertThat(b.get(id, loader())).isEqualTo(v2);
    } finally {
      master.start(); // rejoins as a replica
      cluster.awaitHealthy(Duration.ofSeconds(30));
    }
  }

  private static List<String> keysOn(RedisServer node, String pattern) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      return connection.sync().keys(pattern);
    } finally {
      client.shutdown();
    }
  }

  private static void deleteOn(RedisServer node, String key) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      connection.sync().del(key);
    } finally {
      client.shutdown();
    }
  }
}
