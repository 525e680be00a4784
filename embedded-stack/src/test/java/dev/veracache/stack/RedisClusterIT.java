package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The embedded Redis Cluster: formed, served by Lettuce's cluster client, and failed over by Redis itself. */
@ExtendWith(EmbeddedStackExtension.class)
class RedisClusterIT {

  @Test
  void threeMastersEachWithAReplicaServeEverySlotToAClusterClient(EmbeddedStack stack) {
    RedisCluster cluster = stack.redisCluster();
    assertThat(cluster.nodes()).hasSize(6);
    assertThat(cluster.masters()).hasSize(3);
    assertThat(List.of(cluster.masterOf(0), cluster.masterOf(8000), cluster.masterOf(16383))).doesNotHaveDuplicates();
    RedisClusterClient client = RedisClusterClient.create(cluster.seedUris().stream().map(RedisURI::create).toList());
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      for (int i = 0; i < 60; i++) {
        connection.sync().set("spread:" + i, "v" + i);
      }
      for (int i = 0; i < 60; i++) {
        assertThat(connection.sync().get("spread:" + i)).isEqualTo("v" + i);
      }
      for (RedisServer master : cluster.masters()) {
        assertThat(connection.getConnection(master.host(), master.port()).sync().dbsize())
            .as("keys on master %s", master.port()).isPositive();
      }
    } finally {
      client.shutdown();
    }
    assertThatThrownBy(() -> cluster.masterOf(16384)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("16384");
  }

  @Test
  void aKilledMasterIsReplacedByItsReplicaWhichKeepsWhatItHadReplicatedAndComesBackAsAReplica(EmbeddedStack stack) {
    RedisCluster cluster = stack.redisCluster();
    String key = "failover:{k}";
    int slot = SlotHash.getSlot(key);
    RedisServer master = cluster.masterOf(slot);
    RedisClusterClient client = RedisClusterClient.create(cluster.seedUris().stream().map(RedisURI::create).toList());
    try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
      connection.sync().set(key, "before");
      assertThat(connection.getConnection(master.host(), master.port()).sync().waitForReplication(1, 5000))
          .as("the replica has it").isEqualTo(1L);
      cluster.killMasterAndAwaitFailover(master, Duration.ofSeconds(30));
      RedisServer promoted = cluster.masterOf(slot);
      assertThat(promoted).as("a new master for slot %s", slot).isNotNull().isNotSameAs(master);
      assertThat(cluster.masters()).hasSize(3).doesNotContain(master);
      client.refreshPartitions();
      assertThat(connection.sync().get(key)).as("kept by the replica").isEqualTo("before");
      assertThatThrownBy(() -> cluster.killMasterAndAwaitFailover(master, Duration.ofSeconds(1)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a live master");
    } finally {
      client.shutdown();
    }
    master.start(); // rejoins from its nodes.conf, as a replica of whoever holds its slots
    cluster.awaitHealthy(Duration.ofSeconds(30));
    assertThat(cluster.masters()).hasSize(3).doesNotContain(master);
    assertThat(cluster.masterOf(slot)).isNotSameAs(master);
  }
}
