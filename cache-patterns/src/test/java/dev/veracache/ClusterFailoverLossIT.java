package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A failover that loses writes: Redis replicates asynchronously, so a master killed before its replica got an
 * invalidation hands its slots to a replica without it. Made deterministic by pausing the replica (SIGSTOP) and cutting
 * its replication link while the master takes the invalidation, then killing the master and resuming the replica,
 * which Redis Cluster promotes.
 */
class ClusterFailoverLossIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);

  private RedisCluster cluster;

  @BeforeEach
  void healthyCluster(EmbeddedStack stack) {
    cluster = stack.redisCluster();
    cluster.awaitHealthy(Duration.ofSeconds(30));
  }

  /** Fills {@code id}'s v1 through {@code filler}, then fails its master over losing what {@code write} does. */
  private void loseWhatTheMasterTakes(long id, CacheAside<Long, Product> filler, RedisCluster.WhileCutOff write)
      throws Exception {
    filler.get(id, loader());
    RedisServer master = cluster.masterOf(SlotHash.getSlot(redisKey(id)));
    try (var client = io.lettuce.core.RedisClient.create(master.uri()); var connection = client.connect()) {
      connection.sync().set("{" + redisKey(id) + "}:wait", "x"); // a write on this connection (the same slot)
      assertThat(connection.sync().waitForReplication(1, 5000)).as("the replica has v1").isEqualTo(1L);
    }
    cluster.failOverLosing(master, write, Duration.ofSeconds(30));
  }

  @Test
  void anInvalidationThePromotedReplicaNeverGotBringsTheOldValueBack() throws Exception {
    long id = 7;
    products.insert(id, "v1");
    Veracache writerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());
    loseWhatTheMasterTakes(id, writer, () -> {
      Product v2 = products.update(id, "v2");
      writer.invalidate(id, v2.version()); // taken by the master: returns, nothing pending
      assertThat(writerJvm.pendingInvalidations()).isZero();
    });

    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    await().atMost(WITHIN).ignoreExceptions().until(() -> reader.get(id, loader()) != null);
    assertThat(reader.get(id, loader()).name()).as("the promoted replica's L2: the old value is back")
        .isEqualTo("v1");
    assertThat(products.find(id).name()).isEqualTo("v2");
  }

  @Test
  void withInvalidationReplicasAnUnreplicatedInvalidationIsRetriedOnThePromotedReplica() throws Exception {
    long id = 8;
    products.insert(id, "v1");
    Veracache writerJvm = newClusterInstance(cluster.seedUris(), b -> b.invalidationReplicas(1));
    CacheAside<Long, Product> writer = writerJvm.cacheAside(productOptions().build());
    loseWhatTheMasterTakes(id, writer, () -> {
      Product v2 = products.update(id, "v2");
      writer.invalidate(id, v2.version()); // the master took it, its replica did not acknowledge: queued
      assertThat(writerJvm.pendingInvalidations()).as("not taken until replicated").isEqualTo(1);
    });
    await().atMost(WITHIN).until(() -> writerJvm.pendingInvalidations() == 0);

    Veracache readerJvm = newClusterInstance(cluster.seedUris(), b -> {});
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    assertThat(reader.get(id, loader()).name()).as("the retry reached the promoted replica").isEqualTo("v2");
    assertThat(counter(writerJvm, "veracache.redis.errors", "reason", "not_durable")).isPositive();
  }
}
