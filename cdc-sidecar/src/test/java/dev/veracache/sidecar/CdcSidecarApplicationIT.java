package dev.veracache.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.json.JsonMapper;

/**
 * The sidecar as an operator runs it: configured by properties (the same names as environment variables), health UP
 * only while streaming, Prometheus metrics, graceful shutdown. Once against "external" servers given by configuration,
 * once with its own embedded stack.
 */
class CdcSidecarApplicationIT {

  /** Every file a test writes goes here: JUnit deletes it, so a run leaves nothing in the temporary directory. */
  @org.junit.jupiter.api.io.TempDir
  Path tmp;

  private static final Duration WITHIN = Duration.ofSeconds(60);
  private static EmbeddedStack external;

  @BeforeAll
  static void startServers() throws Exception {
    external = EmbeddedStack.start(StackConfig.embedded());
    try (Connection c = external.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, version BIGINT NOT NULL)");
    }
  }

  @AfterAll
  static void stopServers() {
    external.close();
  }

  @Test
  void againstExternalEndpointsItStreamsReportsHealthAndMetricsAndShutsDownGracefully() throws Exception {
    Path mappings = Files.createTempFile(tmp, "mappings", ".yml");
    Files.writeString(mappings, """
        tables:
          - table: veracache.orders
            namespace: order
            keys: ["{id}", "customer:{customer:asis}"]
            version: version
        """);
    Path state = Files.createTempDirectory(tmp, "sidecar-state");
    ConfigurableApplicationContext app = SpringApplication.run(CdcSidecarApplication.class,
        "--server.port=0",
        "--veracache.cdc.database.host=" + external.database().host(),
        "--veracache.cdc.database.port=" + external.database().port(),
        "--veracache.cdc.database.user=" + external.database().user(),
        "--veracache.cdc.redis.uri=" + external.redis().uri(),
        "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.state-directory=" + state,
        "--veracache.cdc.server-id=6001",
        "--veracache.cdc.name=sidecar-test");
    CdcInvalidatorLifecycle listener = app.getBean(CdcInvalidatorLifecycle.class);
    try {
      String base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
      await().atMost(WITHIN).until(() -> "UP".equals(healthStatus(base)));

      RedisClient client = RedisClient.create(external.redis().uri());
      try (StatefulRedisConnection<String, String> redis = client.connect()) {
        redis.sync().set("order:1", "V:1:{}");
        try (Connection c = external.database().connect(); Statement s = c.createStatement()) {
          s.execute("INSERT INTO orders VALUES (1, 'alice', 2)");
        }
        await().atMost(WITHIN).until(() -> String.valueOf(redis.sync().get("order:1")).startsWith("P:2:"));
        assertThat(redis.sync().get("order:customer:alice")).startsWith("P:2:");
      } finally {
        client.shutdown();
      }
      String metrics = get(base + "/actuator/prometheus");
      assertThat(metrics).contains("veracache_cdc_live{").contains("veracache_cdc_events_total{");
    } finally {
      app.close();
    }
    assertThat(listener.invalidator().isLive()).as("listener closed on shutdown").isFalse();
    assertThat(Files.size(state.resolve("offsets.dat"))).as("offsets flushed").isPositive();
  }

  @Test
  void aBatchRedisKeepsRefusingTurnsHealthDownAsStalledWithTheReasonUntilRedisTakesIt() throws Exception {
    Path mappings = Files.createTempFile(tmp, "mappings", ".yml");
    Files.writeString(mappings, """
        tables:
          - table: veracache.orders
            namespace: stalled_order
            keys: ["{id}"]
            version: version
        """);
    ConfigurableApplicationContext app = SpringApplication.run(CdcSidecarApplication.class,
        "--server.port=0",
        "--veracache.cdc.database.host=" + external.database().host(),
        "--veracache.cdc.database.port=" + external.database().port(),
        "--veracache.cdc.database.user=" + external.database().user(),
        "--veracache.cdc.redis.uri=" + external.redis().uri(),
        "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.state-directory=" + Files.createTempDirectory(tmp, "sidecar-state"),
        "--veracache.cdc.server-id=6003",
        "--veracache.cdc.name=sidecar-stall",
        "--veracache.cdc.stall-threshold=500ms");
    RedisClient client = RedisClient.create(external.redis().uri());
    try (StatefulRedisConnection<String, String> redis = client.connect()) {
      String base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
      await().atMost(WITHIN).until(() -> "UP".equals(healthStatus(base)));

      String policy = redis.sync().configGet("maxmemory-policy").get("maxmemory-policy");
      redis.sync().configSet("maxmemory-policy", "noeviction");
      redis.sync().configSet("maxmemory", "1"); // every script that writes now fails with OOM
      try {
        try (Connection c = external.database().connect(); Statement s = c.createStatement()) {
          s.execute("INSERT INTO orders VALUES (100, 'bob', 1)");
        }
        await().atMost(WITHIN).until(() -> get(base + "/actuator/health").contains("\"state\":\"stalled\""));
        String health = get(base + "/actuator/health");
        assertThat(healthStatus(base)).isEqualTo("DOWN");
        assertThat(health).contains("out of memory");
        assertThat(get(base + "/actuator/prometheus")).contains("veracache_cdc_stalled{listener=\"sidecar-stall\"} 1.0")
            .contains("veracache_cdc_oldest_unapplied_age_milliseconds{");
      } finally {
        redis.sync().configSet("maxmemory", "0");
        redis.sync().configSet("maxmemory-policy", policy);
      }
      await().atMost(WITHIN).until(() -> "UP".equals(healthStatus(base)));
      assertThat(redis.sync().get("stalled_order:100")).startsWith("P:1:"); // inserted at version 1
    } finally {
      client.shutdown();
      app.close();
    }
  }

  @Test
  void withItsOwnEmbeddedStackItComesUpForDemos() throws Exception {
    Path state = Files.createTempDirectory(tmp, "sidecar-state");
    ConfigurableApplicationContext app = SpringApplication.run(CdcSidecarApplication.class,
        "--server.port=0", "--veracache.cdc.embedded-stack=true", "--veracache.cdc.state-directory=" + state,
        "--veracache.cdc.server-id=6002", "--veracache.cdc.name=sidecar-embedded");
    try {
      String base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
      await().atMost(WITHIN).until(() -> "UP".equals(healthStatus(base)));
    } finally {
      app.close();
    }
  }

  /** The overall status (components' statuses are in the same document). */
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
