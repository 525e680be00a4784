package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.KafkaServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the Kafka-mode tests share on top of {@link ListenerFixture}: the broker, the stack's shared Kafka Connect
 * worker with each test's Debezium connector on it (removed when the test ends), the table topic's name, and waits
 * that poll a condition.
 */
abstract class KafkaModeFixture extends ListenerFixture {

  static final int PARTITIONS = 6;

  EmbeddedStack stack;
  KafkaServer kafka;
  /** The connector's {@code topic.prefix}; set by each test class. */
  String prefix;

  @BeforeEach
  void setUpKafkaMode(EmbeddedStack stack, KafkaServer kafka) {
    this.stack = stack;
    this.kafka = kafka;
  }

  /** Debezium's MariaDB connector on the embedded database (a mutable copy: tests add settings). */
  Map<String, String> connector(String name, String topicPrefix, long connectorServerId, String... databases) {
    return new HashMap<>(KafkaConnectorConfig.builder(name, topicPrefix)
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(connectorServerId)
        .databases(databases.length == 0 ? new String[] {db.databaseName()} : databases)
        .fileSchemaHistory(stateDir.resolve(name + "-schema-history.dat"))
        .partitions(PARTITIONS)
        .build());
  }

  /** Runs the connectors on the stack's shared worker (a worker per test cost a JVM start, about 5 s, each). */
  @SafeVarargs
  final void startConnect(Map<String, String>... connectors) {
    var worker = stack.kafkaConnect();
    for (Map<String, String> connector : connectors) {
      worker.addConnector(connector);
      closeables.push(() -> worker.removeConnector(connector.get("name"))); // its binlog reader would run on
    }
  }

  String tableTopic() {
    return prefix + "." + db.databaseName() + "." + table;
  }

  /**
   * The connector reports RUNNING before it reads the binlog, and a row written before its start position is never
   * sent: write marker rows (negative ids) until the table's topic exists.
   */
  void awaitTableTopic() throws Exception {
    awaitTopic(table, tableTopic());
  }

  void awaitTopic(String rowsOf, String topic) throws Exception {
    try (Admin admin = admin()) {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (int marker = 1; !admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(topic); marker++) {
        assertThat(System.nanoTime()).as("topic %s created within 60 s", topic).isLessThan(deadline);
        sql("INSERT INTO " + rowsOf + " (id, name, version) VALUES (" + (-marker) + ", 'topic', 1)");
        Thread.sleep(200); // polling a condition (the topic exists), not waiting for a race
      }
    }
  }

  Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
  }

  static void await(String what, Duration within, Check check) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (!check.holds()) {
      assertThat(System.nanoTime()).as("%s within %s", what, within).isLessThan(deadline);
      Thread.sleep(50); // polling a condition, not waiting for a race
    }
  }

  @FunctionalInterface
  interface Check {
    boolean holds() throws Exception;
  }
}
