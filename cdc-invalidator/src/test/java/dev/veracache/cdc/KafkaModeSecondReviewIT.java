package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A second hostile review of Kafka mode, after the fixes of the first: each test states a claim of {@code KafkaRunner}
 * (or of the README's "Kafka mode") and tries to break it on the embedded broker and a real Kafka Connect worker
 * running Debezium's MariaDB connector. A test that fails here is a hole in the claim it names; a test that passes is
 * evidence for it.
 */
class KafkaModeSecondReviewIT extends KafkaModeFixture {


  private String group;

  @BeforeEach
  void createTable() throws Exception {
    this.prefix = "ks" + serverId;
    this.group = "second-" + serverId;
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim: "a lost position is flushed, never guessed" ... "when the group had committed other partitions before (a
  // topic deleted and recreated loses its committed offsets with it)". The rule needs a commit that survived: when
  // every topic of the pattern is deleted and recreated (the connector's topics wiped to reset the pipeline, or the
  // cluster rebuilt), no commit survives, and the member takes the "group's first start" path: log start 0, no flush.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * The group read and committed the schema-change topic and the table topic; while no member ran, row 7 changed
   * (the change is in the table topic, unread); then every topic of the connector's prefix was deleted and recreated.
   * The broker deletes the group's committed offsets with the topics, so nothing tells the member that the group ran
   * before: it reads from offset 0 without a flush, and row 7's change, lost with the old topic, is never applied.
   */
  @Test
  void everyTopicOfThePatternDeletedAndRecreatedFlushesTheNamespaces() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500));
    awaitTableTopic();
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)",
        "INSERT INTO " + table + " (id, name, version) VALUES (8, 'n', 1)");
    CdcInvalidator first = startListener(member("a" + serverId), recording);
    await("row 7's insert applied", Duration.ofSeconds(60), () -> tombstoned("7", 1));
    try (Admin admin = admin()) {
      await("the group committed its reads of both topics", Duration.ofSeconds(30),
          () -> committedTopics(admin).containsAll(Set.of(prefix, tableTopic())));
      first.close();
      redisCli.sync().set(namespace + ":7", "V:1:row 7 at version 1"); // a reader fills row 7 at version 1
      long before = endOffsetSum(admin, tableTopic());
      sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = 7"); // no member runs
      await("the update is in the topic, unread", Duration.ofSeconds(30),
          () -> endOffsetSum(admin, tableTopic()) > before);

      admin.deleteTopics(List.of(prefix, tableTopic())).all().get(30, TimeUnit.SECONDS);
      await("the topics are gone", Duration.ofSeconds(30), () -> {
        Set<String> names = admin.listTopics().names().get(10, TimeUnit.SECONDS);
        return !names.contains(prefix) && !names.contains(tableTopic());
      });
      await("the group's committed offsets went with them", Duration.ofSeconds(15),
          () -> committedTopics(admin).isEmpty());
      kafka.createTopic(prefix, PARTITIONS);
      kafka.createTopic(tableTopic(), PARTITIONS);
    }

    startListener(member("b" + serverId), recording);
    sql("UPDATE " + table + " SET name = 'm', version = 3 WHERE id = 8");
    await("a change written after the recreation is applied: the member is past its start", Duration.ofSeconds(60),
        () -> tombstoned("8", 3));
    assertThat(redisValue("7"))
        .as("row 7 is at version 2 in the database; its change was lost with the deleted topics; a lost position must "
            + "flush the namespace (lost-position flushes: %s)", counters("veracache.cdc.kafka.lost.positions"))
        .isNotEqualTo("V:1:row 7 at version 1");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim: "LIVE means joined and caught up with its positions" / "LIVE once ... a poll found every position, an owed
  // flush done". A poll that returns no records and throws nothing has not necessarily found any position: when the
  // committed offsets are not answered within the poll's 100 ms (a slow coordinator, a GC pause after the join, a
  // broker that stops answering), poll returns empty and the member moves to LIVE with every position unknown and an
  // owed flush not even discovered yet.
  // ---------------------------------------------------------------------------------------------------------------

  /** What {@link PausingAssignor} does once, on the member's thread, when the group gave the member its assignment. */
  static final AtomicReference<Runnable> ON_ASSIGNMENT = new AtomicReference<>();

  /** The range assignor, plus a test action when an assignment arrives (after the join, before the offset fetch). */
  public static final class PausingAssignor extends RangeAssignor {
    @Override
    public String name() {
      return "pausing-range";
    }

    @Override
    public void onAssignment(Assignment assignment, ConsumerGroupMetadata metadata) {
      Runnable action = ON_ASSIGNMENT.getAndSet(null);
      if (action != null && !assignment.partitions().isEmpty()) {
        action.run();
      }
    }
  }

  /**
   * The table topic's first records were deleted by retention: the member owes a flush before it is live. The broker
   * stops answering (SIGSTOP) right after it handed the member its assignment, before the member fetched its committed
   * offsets: the member cannot know its positions, let alone that it owes a flush. It reports LIVE anyway.
   */
  @Test
  void aMemberWhosePositionsAreNotKnownYetIsNotLive() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500));
    awaitTableTopic();
    for (int id = 1; id <= 12; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
    }
    try (Admin admin = admin()) {
      await("the topic holds the rows", Duration.ofSeconds(60), () -> endOffsetSum(admin, tableTopic()) >= 12);
      Map<TopicPartition, RecordsToDelete> deletions = new HashMap<>();
      endOffsets(admin, tableTopic()).forEach((partition, end) -> deletions.put(partition,
          RecordsToDelete.beforeOffset(end)));
      admin.deleteRecords(deletions).all().get(30, TimeUnit.SECONDS);
    }
    redisCli.sync().set(namespace + ":999", "cached before the listener ran");
    CountDownLatch paused = new CountDownLatch(1);
    ON_ASSIGNMENT.set(() -> {
      kafka.pause();
      paused.countDown();
    });
    try {
      CdcInvalidator cdc = CdcInvalidator.start(member("a" + serverId, "partition.assignment.strategy",
          PausingAssignor.class.getName()), recording);
      closeables.push(cdc);
      assertThat(paused.await(60, TimeUnit.SECONDS)).as("the member got its assignment").isTrue();
      // The broker answers nothing now: no committed offset, no log start, so no position and no flush can be known.
      boolean live = cdc.awaitLive(Duration.ofSeconds(5));
      assertThat(live)
          .as("a member that has not fetched a single committed offset (broker stopped right after the join) and owes "
              + "a flush (first records deleted by retention) is not live; it reported %s, lost-position flushes %s, "
              + "the cached entry %s", cdc.status(), counters("veracache.cdc.kafka.lost.positions"),
              redisValue("999"))
          .isFalse();
    } finally {
      ON_ASSIGNMENT.set(null);
      kafka.resume();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim: "no longer LIVE when Kafka has not answered for stallThreshold". The contact check runs only after an empty
  // poll; a member blocked in commitSync (default.api.timeout.ms, 60 s) against a broker that does not answer calls
  // nothing that could move it out of LIVE.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * The broker stops answering while the member applies a batch: Redis takes it, then commitSync waits for a broker
   * that does not answer, for default.api.timeout.ms (60 s). Meanwhile the database commits changes nobody
   * invalidates, and the member keeps reporting LIVE long past its stall threshold (2 s).
   */
  @Test
  void aMemberBlockedInACommitToABrokerThatDoesNotAnswerStopsReportingLive() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500));
    awaitTableTopic();
    AtomicBoolean armed = new AtomicBoolean();
    CountDownLatch brokerStopped = new CountDownLatch(1);
    CdcHooks stopBrokerBeforeApply = new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        recording.beforeApply(invalidations);
        if (invalidations.stream().anyMatch(i -> i.version() == 2) && armed.compareAndSet(true, false)) {
          kafka.pause(); // the batch is in hand; Redis takes it, then the commit meets a broker that does not answer
          brokerStopped.countDown();
        }
      }
    };
    CdcInvalidator cdc = CdcInvalidator.start(member("a" + serverId, Duration.ofSeconds(2)), stopBrokerBeforeApply);
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).isTrue();
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)");
    await("row 7's insert applied", Duration.ofSeconds(60), () -> tombstoned("7", 1));
    armed.set(true);
    try {
      sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = 7");
      assertThat(brokerStopped.await(60, TimeUnit.SECONDS)).as("the broker stopped under the batch").isTrue();
      await("the member stops reporting live: the broker has not answered for longer than its stall threshold (2 s); "
          + "status " + cdc.status(), Duration.ofSeconds(15), () -> !cdc.isLive());
    } finally {
      kafka.resume();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim: "a new table's first change creates its topic, which costs one flush". Debezium creates a topic for every
  // captured table at its first change, mapped or not; the rule cannot tell a new topic from a recreated one, so every
  // new topic of an unmapped table empties every mapped namespace, once per member that gets a share of it.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Two members read the group; a table that no mapping names (same database, captured by the connector) gets its
   * first row. Its new topic cannot hide a change of a mapped table, yet each member that gets some of its partitions
   * flushes every mapped namespace.
   */
  @Test
  void theFirstRowOfAnUnmappedTableFlushesNoMappedNamespace() throws Exception {
    String unmapped = table + "_audit";
    sql("CREATE TABLE " + unmapped + " (id BIGINT PRIMARY KEY, what VARCHAR(100) NOT NULL)");
    startConnect(connector("c" + serverId, prefix, serverId + 500));
    awaitTableTopic();
    startListener(member("a" + serverId), recording);
    startListener(member("b" + serverId), recording);
    String unmappedTopic = prefix + "." + db.databaseName() + "." + unmapped;
    try (Admin admin = admin()) {
      await("the group committed the schema topic and the table topic", Duration.ofSeconds(30),
          () -> committedTopics(admin).containsAll(Set.of(prefix, tableTopic())));
      redisCli.sync().set(namespace + ":999", "cached, its row unchanged");
      sql("INSERT INTO " + unmapped + " (id, what) VALUES (1, 'first row')");
      await("the group found the new topic and committed its positions", Duration.ofSeconds(60),
          () -> committedPartitions(admin, unmappedTopic) == PARTITIONS);
      sql("INSERT INTO " + table + " (id, name, version) VALUES (5, 'n', 1)");
      await("a later change of the mapped table is applied", Duration.ofSeconds(60), () -> tombstoned("5", 1));
    }
    assertThat(redisValue("999"))
        .as("the first row of an unmapped table hides no change of a mapped one; yet the mapped namespace was flushed "
            + "(lost-position flushes: %s, for one new topic)", counters("veracache.cdc.kafka.lost.positions"))
        .isEqualTo("cached, its row unchanged");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim: "Tombstones, heartbeats and transaction records carry nothing and are skipped; anything else stops the
  // member". Records Debezium itself writes onto topics the README's pattern ("<prefix>(\..*)?") matches.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * provide.transaction.metadata writes BEGIN/END records to {@code <prefix>.transaction}, which the README's pattern
   * matches; a heartbeat topic named under the prefix too; and a TRUNCATE (op t) and an ALTER on the way. Expected to
   * pass: evidence that Debezium's own records do not stop the member.
   */
  @Test
  void transactionHeartbeatTruncateAndDdlRecordsOfTheRealConnectorDoNotStopTheMember() throws Exception {
    Map<String, String> connector = connector("c" + serverId, prefix, serverId + 500);
    connector.put("provide.transaction.metadata", "true");
    connector.put("heartbeat.interval.ms", "200");
    connector.put("topic.heartbeat.prefix", prefix + ".heartbeat");
    startConnect(connector);
    awaitTableTopic();
    CdcInvalidator cdc = startListener(member("a" + serverId), recording);
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)");
    await("row 7's insert applied", Duration.ofSeconds(60), () -> tombstoned("7", 1));
    String transactions = prefix + ".transaction";
    String heartbeats = prefix + ".heartbeat." + prefix;
    try (Admin admin = admin()) {
      await("the group read transaction and heartbeat records", Duration.ofSeconds(60),
          () -> committedSum(admin, transactions) > 0 && committedSum(admin, heartbeats) > 0);
    }
    redisCli.sync().set(namespace + ":999", "cached before the truncate");
    sql("ALTER TABLE " + table + " ADD COLUMN note VARCHAR(10) NULL", "TRUNCATE TABLE " + table);
    await("the truncate flushed the namespace, or the member stopped", Duration.ofSeconds(60),
        () -> redisValue("999") == null || cdc.status().state() == CdcInvalidator.State.FAILED);
    sql("INSERT INTO " + table + " (id, name, version, note) VALUES (8, 'n', 4, 'x')");
    await("a later change applied, or the member stopped", Duration.ofSeconds(60),
        () -> tombstoned("8", 4) || cdc.status().state() == CdcInvalidator.State.FAILED);
    assertThat(cdc.status().state()).as("status %s", cdc.status()).isEqualTo(CdcInvalidator.State.LIVE);
  }

  /**
   * Debezium's notifications (notification.enabled.channels=sink) written to a topic under the prefix, which the
   * README's pattern matches: their value schema is {@code io.debezium.connector.common.Notification}, neither a row
   * change, a schema change, a heartbeat nor a transaction record.
   */
  @Test
  void debeziumNotificationsOnATopicThePatternMatchesDoNotStopTheMember() throws Exception {
    Map<String, String> connector = connector("c" + serverId, prefix, serverId + 500);
    connector.put("notification.enabled.channels", "sink");
    connector.put("notification.sink.topic.name", prefix + ".notifications");
    kafka.createTopic(prefix + ".notifications", 1);
    startConnect(connector);
    awaitTableTopic();
    CdcInvalidator cdc = CdcInvalidator.start(member("a" + serverId), recording);
    closeables.push(cdc);
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)");
    await("row 7's insert applied, or the member stopped", Duration.ofSeconds(60),
        () -> tombstoned("7", 1) || cdc.status().state() == CdcInvalidator.State.FAILED);
    try (Admin admin = admin()) {
      long notifications = endOffsetSum(admin, prefix + ".notifications", 1);
      assertThat(cdc.status().state())
          .as("Debezium's own notification records (%s on %s.notifications) stop the member: %s", notifications,
              prefix, cdc.status())
          .isNotEqualTo(CdcInvalidator.State.FAILED);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  private double counters(String name) {
    return registry.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
  }

  /** The topics the group has a committed offset on. */
  private Set<String> committedTopics(Admin admin) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).keySet()
        .stream().map(TopicPartition::topic).collect(java.util.stream.Collectors.toSet());
  }

  private long committedPartitions(Admin admin, String topic) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).keySet()
        .stream().filter(p -> p.topic().equals(topic)).count();
  }

  private long committedSum(Admin admin, String topic) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).entrySet()
        .stream().filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
        .mapToLong(e -> e.getValue().offset()).sum();
  }

  private CdcOptions member(String name, String... consumerProperties) {
    return member(name, Duration.ofSeconds(10), consumerProperties);
  }

  private CdcOptions member(String name, Duration stallThreshold, String... consumerProperties) {
    Map<String, String> properties = new java.util.LinkedHashMap<>();
    properties.put("client.id", name);
    properties.put("session.timeout.ms", "2000");
    properties.put("heartbeat.interval.ms", "500");
    for (int i = 0; i < consumerProperties.length; i += 2) {
      properties.put(consumerProperties[i], consumerProperties[i + 1]);
    }
    KafkaSource.Builder source = KafkaSource.builder().bootstrapServers(kafka.bootstrapServers()).groupId(group)
        .topicPattern(prefix + "(\\..*)?").topicRefresh(Duration.ofMillis(500));
    properties.forEach(source::consumerProperty);
    return CdcOptions.builder()
        .name(name)
        .redis(VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofMillis(300)).clientName(name).build())
        .mappings(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
            .version("version").add().build())
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .stallThreshold(stallThreshold)
        .meterRegistry(registry)
        .kafka(source.build())
        .build();
  }

  private Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
    return endOffsets(admin, topic, PARTITIONS);
  }

  private Map<TopicPartition, Long> endOffsets(Admin admin, String topic, int partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    try {
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      return ends;
    } catch (java.util.concurrent.ExecutionException e) {
      return Map.of();
    }
  }

  private long endOffsetSum(Admin admin, String topic) throws Exception {
    return endOffsets(admin, topic).values().stream().mapToLong(Long::longValue).sum();
  }

  private long endOffsetSum(Admin admin, String topic, int partitions) throws Exception {
    return endOffsets(admin, topic, partitions).values().stream().mapToLong(Long::longValue).sum();
  }

}
