package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Kafka mode end to end, on the embedded broker and a real Kafka Connect worker running Debezium's MariaDB connector:
 * the change events go MariaDB binlog -> Connect -> six partitions -> a consumer group of listeners -> Redis.
 */
class KafkaModeIT extends KafkaModeFixture {


  private String group;

  @BeforeEach
  void createTable() throws Exception {
    this.prefix = "kt" + serverId;
    this.group = "invalidators-" + serverId;
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private CdcOptions member(String name, InvalidationMappings mappings) {
    return CdcOptions.builder()
        .name(name)
        .redis(VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofMillis(300)).clientName(name).build())
        .mappings(mappings)
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .meterRegistry(registry)
        .kafka(KafkaSource.builder().bootstrapServers(kafka.bootstrapServers()).groupId(group)
            .topicPattern(prefix + "(\\..*)?").topicRefresh(Duration.ofMillis(500))
            .consumerProperty("client.id", name)
            .consumerProperty("session.timeout.ms", "2000")
            .consumerProperty("heartbeat.interval.ms", "500")
            .build())
        .build();
  }

  private InvalidationMappings mappings() {
    return InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}").version("version").add()
        .build();
  }

  @Test
  void threeMembersShareSixPartitionsAndOneKilledHoldingAnUnappliedBatchLosesNoInvalidation() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    CdcInvalidator a = startListener(member("a" + serverId, mappings()), recording);
    CdcInvalidator b = startListener(member("b" + serverId, mappings()), recording);
    Process c = startChildMember("c" + serverId);
    await("three members, each with partitions of " + tableTopic(), Duration.ofSeconds(60),
        () -> membersWithPartitions() == 3);

    for (int id = 1; id <= 60; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
    }
    for (int id = 1; id <= 60; id++) {
      sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = " + id);
    }
    String holding = childLines.poll(60, TimeUnit.SECONDS);
    assertThat(holding).as("the child member polled the newest changes of some keys and holds them unapplied")
        .startsWith("HOLDING [");
    List<String> held = List.of(holding.substring("HOLDING [".length(), holding.length() - 1).split(", "));
    c.destroyForcibly(); // SIGKILL: no commit, no leave-group; its session times out
    assertThat(c.waitFor(10, TimeUnit.SECONDS)).isTrue();

    await("every key tombstoned at version 2", Duration.ofSeconds(60), () -> {
      for (int id = 1; id <= 60; id++) {
        if (!tombstoned(Integer.toString(id), 2)) {
          return false;
        }
      }
      return true;
    });
    Map<String, List<Long>> versionsByKey = emitted.stream().filter(i -> i.namespace().equals(namespace))
        .collect(Collectors.groupingBy(KeyInvalidation::key, Collectors.mapping(KeyInvalidation::version,
            Collectors.toList())));
    for (String key : held) {
      assertThat(versionsByKey.get(key)).as("the killed member's unapplied version 2 of key %s was applied by a "
          + "survivor", key).contains(2L);
    }
    for (int id = 1; id <= 60; id++) {
      List<Long> versions = versionsByKey.get(Integer.toString(id));
      assertThat(versions).as("key %s applied by the survivors", id).isNotEmpty();
      assertThat(versions.get(versions.size() - 1)).as("the last invalidation applied for key %s is its newest "
          + "(per-key order across the rebalance): %s", id, versions).isEqualTo(2L);
    }
    assertThat(a.isLive()).isTrue();
    assertThat(b.isLive()).isTrue();
    assertThat(counter("veracache.cdc.kafka.lost.positions")).as("the only flushes were the group's first start's")
        .isEqualTo(counter("veracache.cdc.first.starts", "action", "flushed"));
  }

  @Test
  void twoDatabasesEachWithItsOwnConnectorFeedOneGroup() throws Exception {
    String second = db.databaseName() + "_shard2";
    sql("CREATE DATABASE IF NOT EXISTS " + second,
        "CREATE TABLE " + second + "." + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
            + "version BIGINT NOT NULL)");
    String otherPrefix = prefix + "s2";
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()),
        connector("d" + serverId, otherPrefix, serverId + 700, second));
    awaitTableTopic();
    awaitTopic(second + "." + table, otherPrefix + "." + second + "." + table);
    InvalidationMappings both = InvalidationMappings.builder()
        .table(qualified()).namespace(namespace).key("{id}").version("version").add()
        .table(second + "." + table).namespace(namespace + "s2").key("{id}").version("version").add()
        .build();
    CdcOptions a = member("a" + serverId, both);
    CdcOptions b = member("b" + serverId, both);
    KafkaSource bothTopics = KafkaSource.builder().bootstrapServers(kafka.bootstrapServers()).groupId(group)
        .topicPattern("(" + prefix + "|" + otherPrefix + ")(\\..*)?").topicRefresh(Duration.ofMillis(500)).build();
    startListener(CdcOptions.builder().name(a.name()).redis(a.redis()).mappings(both).meterRegistry(registry)
        .kafka(bothTopics).build(), recording);
    startListener(CdcOptions.builder().name(b.name()).redis(b.redis()).mappings(both).meterRegistry(registry)
        .kafka(bothTopics).build(), recording);
    for (int id = 1; id <= 20; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 3)",
          "INSERT INTO " + second + "." + table + " (id, name, version) VALUES (" + id + ", 'n', 4)");
    }
    await("both databases' keys tombstoned", Duration.ofSeconds(60), () -> {
      for (int id = 1; id <= 20; id++) {
        String first = redisCli.sync().get(namespace + ":" + id);
        String other = redisCli.sync().get(namespace + "s2:" + id);
        if (first == null || !first.matches("[TPD]:3:.*") || other == null || !other.matches("[TPD]:4:.*")) {
          return false;
        }
      }
      return true;
    });
  }

  @Test
  void aGroupWhoseFirstRecordsWereDeletedByRetentionFlushesTheNamespacesBeforeReading() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    for (int id = 1; id <= 30; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
    }
    Map<TopicPartition, Long> ends;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      await("the topic holds the 30 rows", Duration.ofSeconds(60), () -> endOffsets(admin).values().stream()
          .mapToLong(Long::longValue).sum() >= 30);
      ends = endOffsets(admin);
      // Retention: every partition's records before its end are deleted, unread by the group.
      Map<TopicPartition, RecordsToDelete> deletions = new HashMap<>();
      ends.forEach((partition, end) -> deletions.put(partition, RecordsToDelete.beforeOffset(end)));
      admin.deleteRecords(deletions).all().get(30, TimeUnit.SECONDS);
    }
    redisCli.sync().set(namespace + ":999", "cached before the listener ran");
    startListener(member("a" + serverId, mappings()), recording);
    await("the namespace flushed", Duration.ofSeconds(30), () -> redisCli.sync().get(namespace + ":999") == null);
    assertThat(counter("veracache.cdc.kafka.lost.positions")).isPositive();
    sql("UPDATE " + table + " SET version = 5 WHERE id = 7");
    await("a change after the flush is applied", Duration.ofSeconds(30), () -> tombstoned("7", 5));
  }

  @Test
  void kafkaModeNeedsNoDatabaseSettingsButRefusesSettingsItOwns() {
    assertThat(member("x", mappings()).kafka().groupId()).isEqualTo(group);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> KafkaSource.builder().consumerProperty(
        "enable.auto.commit", "true")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(
            "enable.auto.commit");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> KafkaSource.builder().topicPattern("shop(")).isInstanceOf(
        IllegalArgumentException.class).hasMessageContaining("shop(");
    assertThat(CdcOptions.builder().name("g").redis(VeracacheOptions.builder(redis.uri()).build()).mappings(mappings())
        .kafka(KafkaSource.builder().bootstrapServers("k:9092").topicPattern("p").build()).build().kafka().groupId())
        .as("the group defaults to the listener's name").isEqualTo("g");
  }

  private Map<TopicPartition, Long> endOffsets(Admin admin) throws Exception {
    Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      latest.put(new TopicPartition(tableTopic(), p), org.apache.kafka.clients.admin.OffsetSpec.latest());
    }
    try {
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      return ends;
    } catch (java.util.concurrent.ExecutionException e) {
      return Map.of(); // the topic does not exist yet
    }
  }

  private final BlockingQueue<String> childLines = new LinkedBlockingQueue<>();

  private Process startChildMember(String name) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), KafkaMemberMain.class.getName(), kafka.bootstrapServers(), group,
        prefix + "(\\..*)?", redis.uri(), qualified(), namespace, name, "2"));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    closeables.push(() -> {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    });
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          if (line.startsWith("HOLDING") || line.startsWith("LIVE") || line.startsWith("NOT LIVE")) {
            childLines.add(line);
          }
        }
      } catch (java.io.IOException e) {
        // the child is gone
      }
    }, "child-member-output");
    reader.setDaemon(true);
    reader.start();
    assertThat(childLines.poll(90, TimeUnit.SECONDS)).as("the child member is live").isEqualTo("LIVE");
    return process;
  }

  /** How many members of the group hold at least one partition of the table's topic. */
  private int membersWithPartitions() throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).all()
          .get(10, TimeUnit.SECONDS).get(group);
      int withPartitions = 0;
      for (MemberDescription member : description.members()) {
        Set<TopicPartition> partitions = member.assignment().topicPartitions();
        if (partitions.stream().anyMatch(p -> p.topic().equals(tableTopic()))) {
          withPartitions++;
        }
      }
        return withPartitions;
    }
  }

}
