package dev.veracache.chaos.fault;

import dev.veracache.cdc.KafkaConnectorConfig;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import java.time.Duration;
import java.util.Map;
import java.util.WeakHashMap;

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
