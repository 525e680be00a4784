package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A hostile review of Kafka mode: each test states a claimed invariant of {@code KafkaRunner} and tries to break it
 * on the embedded broker (and, where the change events must be Debezium's own, a real Kafka Connect worker running
 * Debezium's MariaDB connector). A test that fails here is a hole in the claim it names.
 */
class KafkaModeReviewIT extends KafkaModeFixture {


  private String group;

  @BeforeEach
  void createTable() throws Exception {
    this.prefix = "kr" + serverId;
    this.group = "review-" + serverId;
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim 4: "a record that is not a Debezium JSON envelope with schemas stops the listener, naming topic, partition
  // and offset". Only bytes JsonConverter cannot parse stop it; a well-formed JSON record that is not a change event
  // is mapped to nothing and its offset committed.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * The connector ran with Debezium's ExtractNewRecordState ("unwrap") transform, a very common setting: each value is
   * the row itself, with a schema, and no envelope (no op, no source). Every change is then skipped and committed.
   */
  @Test
  void anUnwrappedRowOnATableTopicStopsTheListenerNamingWhereItIs() throws Exception {
    String unwrapped = "{\"schema\":{\"type\":\"struct\",\"optional\":false,\"name\":\"" + tableTopic() + ".Value\","
        + "\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":false,"
        + "\"field\":\"name\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"version\"}]},"
        + "\"payload\":{\"id\":7,\"name\":\"m\",\"version\":2}}";
    assertForeignRecordStopsTheListener(unwrapped);
  }

  /**
   * A Debezium change event written by JsonConverter for a record without a value schema (a schemaless transform in
   * the connector's chain): {@code {"schema":null,"payload":{...}}}. JsonConverter accepts it and returns a Map, which
   * the mapper does not recognise, so the update of row 7 is skipped and committed.
   */
  @Test
  void aSchemalessChangeEventStopsTheListenerNamingWhereItIs() throws Exception {
    String schemaless = "{\"schema\":null,\"payload\":{\"before\":{\"id\":7,\"name\":\"n\",\"version\":1},"
        + "\"after\":{\"id\":7,\"name\":\"m\",\"version\":2},\"source\":{\"db\":\"" + db.databaseName() + "\","
        + "\"table\":\"" + table + "\",\"ts_ms\":1},\"op\":\"u\",\"ts_ms\":1}}";
    assertForeignRecordStopsTheListener(schemaless);
  }

  private void assertForeignRecordStopsTheListener(String json) throws Exception {
    kafka.createTopic(tableTopic(), PARTITIONS);
    redisCli.sync().set(namespace + ":7", "V:1:cached row 7 at version 1");
    CdcInvalidator cdc = startListener(member("a" + serverId), recording);
    TopicPartition partition = new TopicPartition(tableTopic(), 0);
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      producer.send(new ProducerRecord<>(tableTopic(), 0, "{\"schema\":null,\"payload\":{\"id\":7}}".getBytes(
          StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8))).get(10, TimeUnit.SECONDS);
    }
    await("the listener stopped, or the group committed past the record", Duration.ofSeconds(30),
        () -> cdc.status().state() == CdcInvalidator.State.FAILED || committed(partition) >= 1);
    assertThat(cdc.status().state())
        .as("a record that is not a Debezium change event stops the listener; instead it is %s, the group committed "
            + "%s past it (offset %s), and row 7 stays cached as %s", cdc.status(), partition, committed(partition),
            redisValue("7"))
        .isEqualTo(CdcInvalidator.State.FAILED);
    assertThat(cdc.status().detail()).contains(tableTopic() + "-0@0");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim 3: "a committed offset out of range (e.g. topic deleted and recreated) flushes the mapped namespaces
  // before reading".
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * The group read and committed its table topic; while its members were down, a row changed (the change is in the
   * topic, unread), then the topic was deleted and recreated. The broker deletes a deleted topic's committed offsets
   * with it, so the recreated topic has no committed offset and a log start of 0: the member reads it from the start
   * without a flush, and the change lost with the old topic is never applied.
   */
  @Test
  void aTopicDeletedAndRecreatedUnderTheGroupFlushesTheNamespaces() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)",
        "INSERT INTO " + table + " (id, name, version) VALUES (8, 'n', 1)");
    CdcInvalidator first = startListener(member("a" + serverId), recording);
    await("row 7's insert applied", Duration.ofSeconds(60), () -> tombstoned("7", 1));
    try (Admin admin = admin()) {
      await("the group committed its reads", Duration.ofSeconds(30), () -> committedCount(admin) > 0);
      first.close();
      // A reader fills row 7 at version 1; then, with no member running, row 7 changes.
      redisCli.sync().set(namespace + ":7", "V:1:row 7 at version 1");
      long before = endOffsetSum(admin);
      sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = 7");
      await("the update is in the topic, unread", Duration.ofSeconds(30), () -> endOffsetSum(admin) > before);

      admin.deleteTopics(List.of(tableTopic())).all().get(30, TimeUnit.SECONDS);
      await("the topic is gone", Duration.ofSeconds(30), () -> !admin.listTopics().names().get(10, TimeUnit.SECONDS)
          .contains(tableTopic()));
      // The broker removes a deleted topic's committed offsets with it.
      await("the deleted topic's committed offsets are gone", Duration.ofSeconds(15),
          () -> committedCount(admin) == 0);
      kafka.createTopic(tableTopic(), PARTITIONS);
    }

    startListener(member("b" + serverId), recording);
    sql("UPDATE " + table + " SET name = 'm', version = 3 WHERE id = 8");
    await("a change written after the recreation is applied: the member is past its start", Duration.ofSeconds(60),
        () -> tombstoned("8", 3));
    assertThat(redisValue("7"))
        .as("row 7 is at version 2 in the database; its change was lost with the deleted topic; a lost position must "
            + "flush the namespace (lost-position flushes: %s)", counter("veracache.cdc.kafka.lost.positions"))
        .isNotEqualTo("V:1:row 7 at version 1");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claims 3 and 6: a lost position is flushed before reading; LIVE means the listener can be trusted (embedded mode
  // is not LIVE while a flush is owed: phase FLUSHING, status STARTING "flushing the mapped namespaces").
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * A first start whose first records were deleted by retention owes a flush. Kafka mode moves to LIVE in
   * onPartitionsAssigned, inside the poll that then throws NoOffsetForPartitionException, so the member reports LIVE
   * (awaitLive returns true, status "streaming") while the owed flush has not been done. Redis refuses writes
   * (CLIENT PAUSE WRITE) to hold the flush open; the member is checked once Redis refused the flush at least once.
   */
  @Test
  void aMemberThatOwesALostPositionFlushIsNotLiveUntilTheFlushIsDone() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    for (int id = 1; id <= 12; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
    }
    try (Admin admin = admin()) {
      await("the topic holds the rows", Duration.ofSeconds(60), () -> endOffsetSum(admin) >= 12);
      Map<TopicPartition, RecordsToDelete> deletions = new HashMap<>();
      endOffsets(admin).forEach((partition, end) -> deletions.put(partition, RecordsToDelete.beforeOffset(end)));
      admin.deleteRecords(deletions).all().get(30, TimeUnit.SECONDS);
    }
    redisCli.sync().set(namespace + ":999", "cached before the listener ran");
    clientCommand("PAUSE", "60000", "WRITE"); // reads are answered, writes wait: the flush's UNLINK times out
    try {
      CdcInvalidator cdc = CdcInvalidator.start(member("a" + serverId), recording);
      closeables.push(cdc);
      await("Redis refused the owed flush at least once", Duration.ofSeconds(30),
          () -> counter("veracache.cdc.retries") > 0);
      assertThat(redisValue("999")).as("the flush is not done").isEqualTo("cached before the listener ran");
      assertThat(cdc.isLive())
          .as("a member that owes a flush (first records deleted by retention) is not live before the flush; its "
              + "status was %s", cdc.status())
          .isFalse();
    } finally {
      clientCommand("UNPAUSE");
    }
  }

  private void clientCommand(String... args) {
    io.lettuce.core.protocol.CommandArgs<String, String> commandArgs = new io.lettuce.core.protocol.CommandArgs<>(
        io.lettuce.core.codec.StringCodec.UTF8);
    for (String arg : args) {
      commandArgs.add(arg);
    }
    redisCli.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
        new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8), commandArgs);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim 6: what a member reports when its Kafka broker goes away while the database keeps taking writes.
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * The broker stops answering (SIGSTOP). The database keeps committing; nothing reaches the listener, so a cached row
   * stays stale. The member keeps reporting LIVE ("streaming") and not stalled, for longer than its session timeout
   * (2 s) and the stall threshold (10 s): a health check sees nothing wrong while every change is missed.
   */
  @Test
  void aMemberCutOffFromItsBrokerStopsReportingLive() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    sql("INSERT INTO " + table + " (id, name, version) VALUES (7, 'n', 1)");
    CdcInvalidator cdc = startListener(member("a" + serverId), recording);
    await("row 7's insert applied", Duration.ofSeconds(60), () -> tombstoned("7", 1));
    redisCli.sync().set(namespace + ":7", "V:1:row 7 at version 1");
    kafka.pause();
    try {
      sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = 7");
      await("the member no longer reports itself live (it has been cut off from Kafka while row 7 is stale: "
          + redisValue("7") + ")", Duration.ofSeconds(30), () -> !cdc.isLive());
    } finally {
      kafka.resume();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim 6: a member that holds a batch for longer than max.poll.interval.ms is removed from the group; its later
  // commit must be refused, the new owner applies from the last commit, and the zombie's late apply must not undo a
  // newer invalidation (invalidate.lua never lowers a floor). Expected to pass: evidence for the claim.
  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void aMemberKickedOutForHoldingABatchHasItsCommitRefusedAndItsLateApplyLowersNoFloor() throws Exception {
    kickedOutZombie();
  }

  /** Claim 7: the same with the consumer group protocol of KIP-848, which consumerProperty lets one choose. */
  @Test
  void withTheConsumerGroupProtocolAKickedOutMemberHasItsCommitRefusedToo() throws Exception {
    kickedOutZombie("group.protocol", "consumer", "session.timeout.ms", null, "heartbeat.interval.ms", null);
  }

  private void kickedOutZombie(String... properties) throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<List<String>> held = new java.util.concurrent.atomic.AtomicReference<>();
    dev.veracache.cdc.testing.CdcHooks holdVersion2 = new dev.veracache.cdc.testing.CdcHooks() {
      @Override
      public void beforeApply(List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        List<String> keys = invalidations.stream().filter(i -> i.version() == 2).map(i -> i.key()).toList();
        if (keys.isEmpty() || !held.compareAndSet(null, keys)) {
          return;
        }
        holding.countDown();
        try {
          release.await(); // as a member retrying a Redis that does not answer, past max.poll.interval.ms
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    String zombieName = "z" + serverId;
    String[] zombieProperties = java.util.Arrays.copyOf(properties, properties.length + 2);
    zombieProperties[properties.length] = "max.poll.interval.ms";
    zombieProperties[properties.length + 1] = "3000";
    CdcInvalidator zombie = startListener(member(zombieName, zombieProperties), holdVersion2);
    CdcInvalidator survivor = startListener(member("s" + serverId, properties), recording);
    try (Admin admin = admin()) {
      // The classic range assignor splits every topic; the consumer protocol's broker-side assignor may give the
      // survivor only the schema-change topic: either way the zombie must hold table partitions.
      await("both members joined and the zombie holds partitions of the table topic", Duration.ofSeconds(60),
          () -> tablePartitionsOf(admin, zombieName) > 0 && admin.describeConsumerGroups(List.of(group)).all()
              .get(10, TimeUnit.SECONDS).get(group).members().size() == 2);
      for (int id = 1; id <= 24; id++) {
        sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
      }
      await("every row's insert applied", Duration.ofSeconds(60), () -> allTombstoned(24, 1));
      for (int id = 1; id <= 24; id++) {
        sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = " + id);
      }
      assertThat(holding.await(60, TimeUnit.SECONDS)).as("the zombie holds a batch of version 2").isTrue();
      await("the zombie is out of the group; the survivor reads every partition of the table topic",
          Duration.ofSeconds(60), () -> tablePartitionsOf(admin, "s" + serverId) == PARTITIONS);
      await("the survivor applied the zombie's batch from the last commit", Duration.ofSeconds(60),
          () -> allTombstoned(24, 2));
      for (int id = 1; id <= 24; id++) {
        sql("UPDATE " + table + " SET name = 'o', version = 3 WHERE id = " + id);
      }
      await("the survivor applied version 3", Duration.ofSeconds(60), () -> allTombstoned(24, 3));
      await("the survivor committed everything in the topic", Duration.ofSeconds(30),
          () -> committedSum(admin) == endOffsetSum(admin));
      long committedBefore = committedSum(admin);
      double refusedBefore = counter("veracache.cdc.kafka.commits", "result", "refused", "listener", zombieName);

      release.countDown(); // the zombie applies its version 2 now, then commits
      await("the zombie's commit was refused", Duration.ofSeconds(30),
          () -> counter("veracache.cdc.kafka.commits", "result", "refused", "listener", zombieName) > refusedBefore);
      if (!java.util.Arrays.asList(properties).contains("consumer")) {
        assertThat(committedSum(admin)).as("nothing the zombie committed moved the group's offsets back")
            .isGreaterThanOrEqualTo(committedBefore);
      }
      // Under group.protocol=consumer the group's committed offsets were seen once to move back here (sum 78 -> 62)
      // after the zombie's commit was refused, cause not found. Moving back replays (at least once) and cannot skip
      // an unapplied record; what this test pins for both protocols is below: the refused commit and the floors.
      for (String key : held.get()) {
        assertThat(redisValue(key)).as("the zombie's late version 2 of key %s left the newer floor", key)
            .matches("[TPD]:3:.*");
      }
      assertThat(survivor.isLive()).isTrue();
      assertThat(zombie.status().state()).isNotEqualTo(CdcInvalidator.State.FAILED);
    } finally {
      release.countDown();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claim 5: close() while a batch is retried against a Redis that does not answer ends promptly and commits nothing
  // of it; the next member applies it. Expected to pass: evidence for the claim.
  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void closeWhileABatchIsRetriedAgainstAPausedRedisEndsPromptlyAndCommitsNothing() throws Exception {
    startConnect(connector("c" + serverId, prefix, serverId + 500, db.databaseName()));
    awaitTableTopic();
    CdcInvalidator cdc = CdcInvalidator.start(member("a" + serverId), recording);
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).isTrue();
    for (int id = 1; id <= 6; id++) {
      sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
    }
    await("every insert applied", Duration.ofSeconds(60), () -> allTombstoned(6, 1));
    try (Admin admin = admin()) {
      await("everything committed", Duration.ofSeconds(30), () -> committedSum(admin) == endOffsetSum(admin));
      long committed = committedSum(admin);
      double retries = counter("veracache.cdc.retries");
      redis.pause();
      long took;
      try {
        for (int id = 1; id <= 6; id++) {
          sql("UPDATE " + table + " SET name = 'm', version = 2 WHERE id = " + id);
        }
        await("Redis refused a batch", Duration.ofSeconds(30), () -> counter("veracache.cdc.retries") > retries);
        long start = System.nanoTime();
        cdc.close();
        took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(committedSum(admin)).as("nothing of the refused batch committed").isEqualTo(committed);
      } finally {
        redis.resume();
      }
      assertThat(took).as("close() during the retries ends promptly (ms)").isLessThan(5_000);
    }
    startListener(member("b" + serverId), recording);
    await("the next member applied the batch the closed one never took", Duration.ofSeconds(60),
        () -> allTombstoned(6, 2));
  }

  private boolean allTombstoned(int rows, long version) {
    for (int id = 1; id <= rows; id++) {
      if (!tombstoned(Integer.toString(id), version)) {
        return false;
      }
    }
    return true;
  }

  /** How many partitions of the table topic the member named {@code clientId} holds. */
  private long tablePartitionsOf(Admin admin, String clientId) throws Exception {
    var description = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
    return description.members().stream().filter(m -> m.clientId().equals(clientId))
        .flatMap(m -> m.assignment().topicPartitions().stream()).filter(p -> p.topic().equals(tableTopic())).count();
  }

  /** The sum of the group's committed offsets on the table topic. */
  private long committedSum(Admin admin) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).entrySet()
        .stream().filter(e -> e.getKey().topic().equals(tableTopic())).mapToLong(e -> e.getValue().offset()).sum();
  }

  // ---------------------------------------------------------------------------------------------------------------

  private KafkaProducer<byte[], byte[]> producer() {
    Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** The group's committed offset of a partition, -1 when none. */
  private long committed(TopicPartition partition) throws Exception {
    try (Admin admin = admin()) {
      OffsetAndMetadata offset = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
          .get(10, TimeUnit.SECONDS).get(partition);
      return offset == null ? -1 : offset.offset();
    }
  }

  /** How many partitions of the table topic the group has an offset for. */
  private long committedCount(Admin admin) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS).keySet()
        .stream().filter(p -> p.topic().equals(tableTopic())).count();
  }

  private CdcOptions member(String name, String... consumerProperties) {
    Map<String, String> properties = new java.util.LinkedHashMap<>();
    properties.put("client.id", name);
    properties.put("session.timeout.ms", "2000");
    properties.put("heartbeat.interval.ms", "500");
    for (int i = 0; i < consumerProperties.length; i += 2) {
      if (consumerProperties[i + 1] == null) {
        properties.remove(consumerProperties[i]);
      } else {
        properties.put(consumerProperties[i], consumerProperties[i + 1]);
      }
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
        .meterRegistry(registry)
        .kafka(source.build())
        .build();
  }

  private Map<TopicPartition, Long> endOffsets(Admin admin) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      latest.put(new TopicPartition(tableTopic(), p), OffsetSpec.latest());
    }
    try {
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      return ends;
    } catch (java.util.concurrent.ExecutionException e) {
      return Map.of();
    }
  }

  private long endOffsetSum(Admin admin) throws Exception {
    return endOffsets(admin).values().stream().mapToLong(Long::longValue).sum();
  }

}
