package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.CacheAside;
import dev.veracache.CacheOptions;
import dev.veracache.L1Probe;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CDC listener invalidating a Redis Cluster: the binlog's changes land as versioned tombstones on the master of
 * each key's slot, every instance's L1 drops them through that master's tracking push, and the listener's sequence
 * check runs on every master.
 */
class ClusterInvalidationIT extends ListenerFixture {

  /** A row of the test table. */
  public record Product(long id, String name, long version) {}

  private static final int ROWS = 30;

  private RedisCluster cluster;

  @BeforeEach
  void cluster(EmbeddedStack stack) throws Exception {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private VeracacheOptions.Builder clusterOptions(String clientName) {
    return VeracacheOptions.clusterBuilder(cluster.seedUris()).clientName(clientName)
        .commandTimeout(Duration.ofMillis(300)).meterRegistry(new SimpleMeterRegistry());
  }

  private Product find(long id) throws Exception {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(id, rs.getString(1), rs.getLong(2)) : null;
      }
    }
  }

  private InvalidationMappings mappings() {
    return InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}").version("version").add()
        .build();
  }

  /**
   * A master fails over to a replica that never got the listener's invalidation of a row (nor the sequence written
   * after it): the old value is back in L2. The listener's next sequence check on that master finds the loss, and
   * the namespace is flushed: the old value does not stay.
   */
  @Test
  void aPromotionThatLostTheListenersInvalidationIsFoundOnThatMasterAndTheNamespaceFlushed() throws Exception {
    // Once the update's batch is applied, the listener's next batches (a marker's, say) wait until the test has seen
    // the old value back: their check would find the loss and flush it first.
    java.util.concurrent.atomic.AtomicBoolean holding = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
    CdcHooks holdLaterBatches = new CdcHooks() {
      @Override
      public void beforeApply(java.util.List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        if (holding.get()) {
          try {
            released.await(60, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    startListener(options(mappings()).redis(clusterOptions("cdc").build()).build(), holdLaterBatches);
    Veracache instance = Veracache.create(clusterOptions("app").build());
    closeables.push(instance);
    CacheAside<Long, Product> cache = instance.cacheAside(
        CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)).version(Product::version).build());
    long id = 1;
    sql("INSERT INTO " + table + " VALUES (" + id + ", 'v1', 1)");
    await().atMost(WITHIN).until(() -> cache.get(id, this::find) != null); // the insert's tombstone, then v1 filled
    await().atMost(WITHIN).until(() -> "v1".equals(cache.get(id, this::find).name()));
    RedisServer master = cluster.masterOf(SlotHash.getSlot(namespace + ":" + id));
    try (var client = io.lettuce.core.RedisClient.create(master.uri()); var connection = client.connect()) {
      connection.sync().set("{" + namespace + ":" + id + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("the replica has v1").isEqualTo(1L);
    }
    double flushedBefore = counter("veracache.cdc.redis.data.losses", "action", "flushed");

    String sequencePattern = "veracache:cdc:cdc-test-" + serverId + ":seq:*";
    cluster.failOverLosing(master, () -> {
      String sequenceBefore = sequenceOn(master, sequencePattern);
      sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = " + id);
      // Read on the master itself: a cluster client would wait on the paused replica for the topology.
      await().atMost(WITHIN).until(() -> "P:2:0:0".equals(rawOn(master, namespace + ":" + id)));
      // The batch's sequence too: lost with it, so the check after the failover finds the loss.
      await().atMost(WITHIN).until(() -> !java.util.Objects.equals(sequenceBefore,
          sequenceOn(master, sequencePattern)));
      holding.set(true);
    }, Duration.ofSeconds(30));
    try {
      assertThat(rawOn(cluster.masterOf(SlotHash.getSlot(namespace + ":" + id)), namespace + ":" + id))
          .as("the promoted replica: the old value is back").startsWith("V:1:");
    } finally {
      holding.set(false);
      released.countDown();
    }

    sql("INSERT INTO " + table + " VALUES (2, 'other', 1)"); // a batch after the failover: its check finds the loss
    await().atMost(WITHIN).until(() -> counter("veracache.cdc.redis.data.losses", "action", "flushed")
        > flushedBefore);
    await().atMost(WITHIN).ignoreExceptions().until(() -> "v2".equals(cache.get(id, this::find).name()));
  }

  /**
   * The master fails over after the listener applied a batch and before it wrote the batch's sequence (held in
   * {@code afterApply}): the promoted replica lost the batch but holds the sequence before it, which a check alone
   * would find intact. The listener saw the connection drop since it sent the batch, so it sends the batch again
   * before the sequence: no flush is needed and the old value does not come back.
   */
  @Test
  void aBatchAppliedJustBeforeAFailoverThatLostItIsSentAgainBeforeItsSequence() throws Exception {
    long id = 1;
    java.util.concurrent.CountDownLatch applied = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch failedOver = new java.util.concurrent.CountDownLatch(1);
    CdcHooks holdTheUpdatesSequence = new CdcHooks() {
      @Override
      public void afterApply(java.util.List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        if (invalidations.stream().anyMatch(i -> i.key().equals(Long.toString(id)) && i.version() == 2)) {
          applied.countDown();
          try {
            failedOver.await(60, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    startListener(options(mappings()).redis(clusterOptions("cdc").build()).build(), holdTheUpdatesSequence);
    Veracache instance = Veracache.create(clusterOptions("app").build());
    closeables.push(instance);
    CacheAside<Long, Product> cache = instance.cacheAside(
        CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)).version(Product::version).build());
    sql("INSERT INTO " + table + " VALUES (" + id + ", 'v1', 1)");
    await().atMost(WITHIN).until(() -> cache.get(id, this::find) != null);
    await().atMost(WITHIN).until(() -> "v1".equals(cache.get(id, this::find).name()));
    RedisServer master = cluster.masterOf(SlotHash.getSlot(namespace + ":" + id));
    try (var client = io.lettuce.core.RedisClient.create(master.uri()); var connection = client.connect()) {
      connection.sync().set("{" + namespace + ":" + id + "}:wait", "x");
      assertThat(connection.sync().waitForReplication(1, 5000)).as("the replica has v1").isEqualTo(1L);
    }
    double flushedBefore = counter("veracache.cdc.redis.data.losses", "action", "flushed");

    try {
      cluster.failOverLosing(master, () -> {
        sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = " + id);
        assertThat(applied.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("the update's batch applied").isTrue();
        assertThat(rawOn(master, namespace + ":" + id)).as("taken by the master").isEqualTo("P:2:0:0");
      }, Duration.ofSeconds(30));
    } finally {
      failedOver.countDown();
    }

    await().atMost(WITHIN).until(() -> counter("veracache.cdc.batches.resent") >= 1);
    await().atMost(WITHIN).until(() -> "P:2:0:0".equals(rawOn(cluster.masterOf(SlotHash.getSlot(namespace + ":"
        + id)), namespace + ":" + id)));
    assertThat(counter("veracache.cdc.redis.data.losses", "action", "flushed")).as("nothing to flush")
        .isEqualTo(flushedBefore);
    await().atMost(WITHIN).ignoreExceptions().until(() -> "v2".equals(cache.get(id, this::find).name()));
  }

  /** The value of the listener's sequence key on one node (the one key matching {@code pattern}), or null. */
  private static String sequenceOn(RedisServer node, String pattern) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      java.util.List<String> keys = connection.sync().keys(pattern);
      return keys.isEmpty() ? null : connection.sync().get(keys.get(0));
    } finally {
      client.shutdown();
    }
  }

  /** What one node holds for a key, or null. */
  private static String rawOn(RedisServer node, String key) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(node.uri());
    try (var connection = client.connect()) {
      return connection.sync().get(key);
    } finally {
      client.shutdown();
    }
  }

  @Test
  void theBinlogsChangesReachEveryMasterAndEveryInstancesL1() throws Exception {
    startListener(options(mappings()).redis(clusterOptions("cdc").build()).build(), CdcHooks.NONE);
    Veracache instance = Veracache.create(clusterOptions("app").build());
    closeables.push(instance);
    CacheAside<Long, Product> cache = instance.cacheAside(
        CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)).version(Product::version).build());

    Set<RedisServer> masters = new HashSet<>();
    for (long id = 1; id <= ROWS; id++) {
      sql("INSERT INTO " + table + " VALUES (" + id + ", 'v1', 1)");
      masters.add(cluster.masterOf(SlotHash.getSlot(namespace + ":" + id)));
    }
    assertThat(masters).as("the keys are spread over every master").hasSize(3);
    for (long id = 1; id <= ROWS; id++) {
      long key = id;
      await().atMost(WITHIN).until(() -> cache.get(key, this::find) != null);
    }
    L1Probe.awaitPushesSoFar(instance);
    for (long id = 1; id <= ROWS; id++) {
      cache.get(id, this::find); // an L2 hit: into L1
      assertThat(L1Probe.inL1(cache, id)).as("id %s in L1", id).isTrue();
    }

    sql("UPDATE " + table + " SET name = 'v2', version = 2");
    // Nobody reads meanwhile: only the listener's invalidations, pushed by each master, take the entries out of L1.
    for (long id = 1; id <= ROWS; id++) {
      long key = id;
      await().atMost(WITHIN).until(() -> !L1Probe.inL1(cache, key));
    }
    RedisClusterClient plain = RedisClusterClient.create(cluster.seedUris().stream().map(RedisURI::create).toList());
    try (StatefulRedisClusterConnection<String, String> connection = plain.connect()) {
      for (long id = 1; id <= ROWS; id++) {
        assertThat(connection.sync().get(namespace + ":" + id)).as("L2 of id %s: the update's tombstone", id)
            .isEqualTo("P:2:0:0");
      }
      assertThat(connection.sync().keys("veracache:cdc:*:seq:*").stream()
          .filter(k -> k.startsWith("veracache:cdc:cdc-test-" + serverId + ":")).toList())
          .as("the listener's sequence, one key per master").hasSize(3);
    } finally {
      plain.shutdown();
    }
    for (long id = 1; id <= ROWS; id++) {
      assertThat(cache.get(id, this::find).name()).isEqualTo("v2");
    }
  }
}
