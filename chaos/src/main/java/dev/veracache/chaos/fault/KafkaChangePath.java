package dev.veracache.chaos.fault;

import dev.veracache.cdc.KafkaConnectorConfig;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The CDC listener's change stream through Kafka (the listener's Kafka mode): the stack's shared Kafka Connect worker,
 * Debezium connector capturing the stack's database into topics {@value #PREFIX} (schema changes) and
 * {@value #PREFIX}.{@code <database>.<table>} (row changes, six partitions each, keyed by primary key). Every run's
 * listener is its own consumer group over them, reading from the first event; the tables of other runs are unmapped.
 */
public final class KafkaChangePath {

  static final String PREFIX = "chaos";
  private static final int PARTITIONS = 6;
  /** The stacks whose shared Connect worker runs the connector already. */
  private static final Map<EmbeddedStack, Boolean> CAPTURED = new WeakHashMap<>();

  private KafkaChangePath() {}

  /**
   * The source a run's listener reads, the Connect worker started first if this stack has none yet. A listener that is
   * restarted in a fresh JVM (R6) is a static member ({@code staticMember}: {@code group.instance.id} = the group), so
   * the restart takes its dead predecessor's partitions at once instead of after the session timeout (45 s).
   */
  static synchronized KafkaSource source(EmbeddedStack stack, String group, boolean staticMember) {
    CAPTURED.computeIfAbsent(stack, s -> {
      s.kafkaConnect().addConnector(connector(s.database(), s.kafka().bootstrapServers()));
      return true;
    });
    KafkaSource.Builder source = KafkaSource.builder().bootstrapServers(stack.kafka().bootstrapServers()).groupId(group)
        .topicPattern(PREFIX + "(\\..*)?").topicRefresh(Duration.ofMillis(200));
    if (staticMember) {
      source.consumerProperty(CdcInvalidatorMain.GROUP_INSTANCE_ID, group);
    }
    return source.build();
  }

  /**
   * Waits until {@code group} has committed, on every partition of the table's topic, the offset after the last record
   * there when the wait began: everything on the topic then is applied (a Kafka-mode listener commits only what Redis
   * took). The quiescence marker proves its own partition only; this proves the others.
   *
   * @return false if the group did not get there within {@code timeout}
   */
  static boolean awaitCommittedToEnd(EmbeddedStack stack, String group, String database, String table,
      Duration timeout) throws InterruptedException {
    String topic = PREFIX + "." + database + "." + table;
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.kafka().bootstrapServers()))) {
      Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
      admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic).partitions()
          .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      Map<TopicPartition, Long> ends = new java.util.HashMap<>();
      admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      while (System.nanoTime() < deadline) {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        boolean done = ends.entrySet().stream().allMatch(end -> {
          OffsetAndMetadata at = committed.get(end.getKey());
          return (at == null ? 0 : at.offset()) >= end.getValue();
        });
        if (done) {
          return true;
        }
        Thread.sleep(20); // polling the group's commits, not waiting for a race
      }
      return false;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the committed offsets of group " + group + " on " + topic
          + " cannot be read: " + e.getMessage(), e);
    }
  }

  private static Map<String, String> connector(DatabaseServer db, String bootstrap) {
    return KafkaConnectorConfig.builder("chaos", PREFIX)
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(7000)
        .databases(db.databaseName())
        .kafkaSchemaHistory(bootstrap, "chaos-schema-history")
        .partitions(PARTITIONS)
        .build();
  }

}
