package dev.veracache.spring.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The starter's listener in a web application on the embedded stack, one context for the whole story: with
 * {@code veracache.cdc.enabled=true} and inline mappings, {@code /actuator/health/readiness} refuses traffic while the
 * listener is not live (here: its first-start flush is refused by a read-only Redis, so it stays starting for as long
 * as the test says) and accepts it once it is; a row changed by JDBC invalidates its Redis key; closing the context
 * closes the listener with its offsets flushed.
 */
@ExtendWith(EmbeddedStackExtension.class)
class CdcAutoConfigurationIT {

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @TempDir Path state;

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {}

  @Test
  void readinessWaitsForTheLiveListenerWhichInvalidatesAChangedRowAndClosesWithTheContext(DatabaseServer db,
      RedisServer redisServer) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE starter_orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, "
          + "version BIGINT NOT NULL)");
    }
    RedisClient client = RedisClient.create(redisServer.uri());
    ConfigurableApplicationContext app = null;
    try (StatefulRedisConnection<String, String> redis = client.connect()) {
      redis.sync().set("starter_order:7", "V:1:{}"); // cached before the listener ever ran: its first start flushes it
      redis.sync().replicaof("127.0.0.1", 1); // read-only, data kept: the first-start flush is refused
      String base;
      try {
        app = SpringApplication.run(App.class, "--server.port=0",
            "--veracache.cdc.enabled=true",
            "--veracache.cdc.database.host=" + db.host(),
            "--veracache.cdc.database.port=" + db.port(),
            "--veracache.cdc.database.user=" + db.user(),
            "--veracache.cdc.database.password=" + db.password(),
            "--veracache.cdc.redis.uri=" + redisServer.uri(),
            "--veracache.cdc.tables[0].table=" + db.databaseName() + ".starter_orders",
            "--veracache.cdc.tables[0].namespace=starter_order",
            "--veracache.cdc.tables[0].keys[0]={id}",
            "--veracache.cdc.tables[0].keys[1]=customer:{customer:asis}",
            "--veracache.cdc.tables[0].version=version",
            "--veracache.cdc.state-directory=" + state,
            "--veracache.cdc.server-id=6201",
            "--veracache.cdc.name=starter-it",
            "--management.endpoint.health.show-details=always");
        base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
        String url = base + "/actuator/health/readiness";
        await().atMost(WITHIN).until(() -> {
          JsonNode details = json(get(url).body()).path("components").path("veracacheCdc").path("details");
          return "starting".equals(details.path("state").asString())
              && details.path("reason").asString().contains("Redis refused");
        });
        HttpResponse<String> refused = get(url);
        assertThat(refused.statusCode()).as("readiness while the listener starts: %s", refused.body()).isEqualTo(503);
        assertThat(json(refused.body()).path("status").asString()).isIn("DOWN", "OUT_OF_SERVICE");
        assertThat(json(refused.body()).path("components").path("veracacheCdc").path("details").path("reason")
            .asString()).contains("READONLY");
      } finally {
        redis.sync().replicaofNoOne();
      }
      await().atMost(WITHIN).until(() -> get(base + "/actuator/health/readiness").statusCode() == 200);
      assertThat(json(get(base + "/actuator/health/readiness").body()).path("status").asString()).isEqualTo("UP");
      assertThat(redis.sync().get("starter_order:7")).as("flushed by the first start").isNull();

      redis.sync().set("starter_order:1", "V:1:{}");
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("INSERT INTO starter_orders VALUES (1, 'alice', 2)");
      }
      await().atMost(WITHIN).until(() -> String.valueOf(redis.sync().get("starter_order:1")).startsWith("P:2:"));
      assertThat(redis.sync().get("starter_order:customer:alice")).startsWith("P:2:");

      CdcInvalidatorLifecycle lifecycle = app.getBean(CdcInvalidatorLifecycle.class);
      app.close();
      assertThat(lifecycle.invalidator().status().state()).as("closed with the context")
          .isEqualTo(CdcInvalidator.State.CLOSED);
      assertThat(Files.size(state.resolve("offsets.dat"))).as("offsets flushed").isPositive();
    } finally {
      if (app != null) {
        app.close();
      }
      client.shutdown();
    }
  }

  private static HttpResponse<String> get(String url) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(url + ": " + e, e);
    }
  }

  private static JsonNode json(String body) {
    return JsonMapper.builder().build().readTree(body);
  }
}
