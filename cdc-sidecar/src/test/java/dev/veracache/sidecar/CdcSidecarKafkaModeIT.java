package dev.veracache.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.cdc.KafkaConnectorConfig;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.json.JsonMapper;

/**
 * The same sidecar in Kafka mode ({@code veracache.cdc.kafka.enabled=true}): Debezium runs in a Kafka Connect worker,
 * two sidecars share the change topics as one consumer group, each UP once it joined; a change is invalidated whoever
 * holds its partition, and when one sidecar shuts down the other takes its partitions over.
 */
class CdcSidecarKafkaModeIT {

  private static final Duration WITHIN = Duration.ofSeconds(90);
  private static final String TOPIC = "sidecar.veracache.kafka_orders";
  private static EmbeddedStack stack;

  @org.junit.jupiter.api.io.TempDir
  static Path tmp;

  @BeforeAll
  static void startServers() throws Exception {
    stack = EmbeddedStack.start(StackConfig.embedded());
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE kafka_orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, "
          + "version BIGINT NOT NULL)");
    }
    Map<String, String> connector = KafkaConnectorConfig.builder("sidecar-orders", "sidecar")
        .database(stack.database().host(), stack.database().port(), stack.database().user(),
            stack.database().password())
        .serverId(6301)
        .databases(stack.database().databaseName())
        .kafkaSchemaHistory(stack.kafka().bootstrapServers(), "sidecar-schema-history")
        .build();
    stack.kafkaConnect(List.of(connector));
    // The connector says RUNNING before it reads the binlog: write rows until the table's topic exists.
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.kafka().bootstrapServers()))) {
      for (int marker = 1; !admin.listTopics().names().get().contains(TOPIC); marker++) {
        assertThat(marker).as("topic %s created", TOPIC).isLessThan(300);
        try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
          s.execute("INSERT INTO kafka_orders VALUES (" + (-marker) + ", 'topic', 1)");
        }
        Thread.sleep(200); // polling a condition (the topic exists), not waiting for a race
      }
    }
  }

  @AfterAll
  static void stopServers() {
    stack.close();
  }

  private ConfigurableApplicationContext sidecar(String name, Path mappings) {
    return SpringApplication.run(CdcSidecarApplication.class,
        "--server.port=0",
        "--veracache.cdc.kafka.enabled=true",
        "--veracache.cdc.kafka.bootstrap-servers=" + stack.kafka().bootstrapServers(),
        "--veracache.cdc.kafka.group-id=sidecar-invalidators",
        "--veracache.cdc.kafka.topic-pattern=sidecar(\\..*)?",
        "--veracache.cdc.kafka.topic-refresh=500ms",
        "--veracache.cdc.kafka.consumer.[session.timeout.ms]=3000",
        "--veracache.cdc.kafka.consumer.[heartbeat.interval.ms]=1000",
        "--veracache.cdc.redis.uri=" + stack.redis().uri(),
        "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.name=" + name);
  }

  @Test
  void twoSidecarsShareTheTopicsAsOneGroupAndOneTakesOverWhenTheOtherStops() throws Exception {
    Path mappings = Files.createTempFile(tmp, "mappings", ".yml");
    Files.writeString(mappings, """
        tables:
          - table: veracache.kafka_orders
            namespace: korder
            keys: ["{id}", "customer:{customer:asis}"]
            version: version
        """);
    ConfigurableApplicationContext first = sidecar("sidecar-a", mappings);
    ConfigurableApplicationContext second = sidecar("sidecar-b", mappings);
    RedisClient client = RedisClient.create(stack.redis().uri());
    try (StatefulRedisConnection<String, String> redis = client.connect()) {
      String firstBase = base(first);
      String secondBase = base(second);
      await().atMost(WITHIN).until(() -> "UP".equals(healthStatus(firstBase)) && "UP".equals(healthStatus(secondBase)));
      assertThat(first.getBean(CdcInvalidatorLifecycle.class).invalidator().status().detail()).isEqualTo("streaming");

      for (int id = 1; id <= 12; id++) {
        redis.sync().set("korder:" + id, "V:1:{}");
        sql("INSERT INTO kafka_orders VALUES (" + id + ", 'c" + id + "', 2)");
      }
      await().atMost(WITHIN).until(() -> allTombstoned(redis, 1, 12, 2));
      assertThat(get(firstBase + "/actuator/prometheus") + get(secondBase + "/actuator/prometheus"))
          .contains("veracache_cdc_kafka_commits_total{listener=\"sidecar-a\",result=\"committed\"}")
          .contains("veracache_cdc_kafka_commits_total{listener=\"sidecar-b\",result=\"committed\"}");

      CdcInvalidatorLifecycle firstListener = first.getBean(CdcInvalidatorLifecycle.class);
      first.close(); // leaves the group: the second sidecar gets every partition
      assertThat(firstListener.invalidator().isLive()).isFalse();
      for (int id = 1; id <= 12; id++) {
        sql("UPDATE kafka_orders SET version = 3 WHERE id = " + id);
      }
      await().atMost(WITHIN).until(() -> allTombstoned(redis, 1, 12, 3));
      assertThat(healthStatus(secondBase)).isEqualTo("UP");
    } finally {
      first.close();
      second.close();
      client.shutdown();
    }
  }

  @Test
  void demoModeAndKafkaModeTogetherAreRefusedBeforeAnythingStarts() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> SpringApplication.run(CdcSidecarApplication.class,
        "--server.port=0", "--veracache.cdc.embedded-stack=true", "--veracache.cdc.kafka.enabled=true"))
        .isInstanceOf(dev.veracache.spring.cdc.CdcConfigurationException.class)
        .hasMessageContaining("the demo runs no Kafka");
  }

  private static boolean allTombstoned(StatefulRedisConnection<String, String> redis, int from, int to, long version) {
    for (int id = from; id <= to; id++) {
      String value = redis.sync().get("korder:" + id);
      if (value == null || !value.matches("[TPD]:" + version + ":.*")) {
        return false;
      }
    }
    return true;
  }

  private static void sql(String statement) throws Exception {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  private static String base(ConfigurableApplicationContext app) {
    return "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
  }

  private static String healthStatus(String base) {
    try {
      return JsonMapper.builder().build().readTree(get(base + "/actuator/health")).path("status").asString();
    } catch (RuntimeException e) {
      return e.toString();
    }
  }

  private static String get(String url) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return e.toString();
    }
  }
}
