package dev.veracache.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.spring.cdc.CdcHealthIndicator;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every state {@link CdcHealthIndicator} reports other than UP, each reached on real servers (the embedded MariaDB
 * and Redis, given to the sidecar as external servers) and read from {@code /actuator/health} as an operator or a
 * probe reads it (the starter's {@code veracacheCdc} component): not started, starting (here: the first-start flush Redis refuses), stalled (Redis stopped while a
 * change waits), stopped (the listener failed), closed. A listener that cannot start at all fails the application's
 * start instead, naming the problem. Every wait checks the overall status as well as the {@code veracacheCdc} component.
 */
class CdcHealthIT {

  /** Every file a test writes goes here: JUnit deletes it, so a run leaves nothing in the temporary directory. */
  @org.junit.jupiter.api.io.TempDir
  Path tmp;

  private static final Duration WITHIN = Duration.ofSeconds(60);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static EmbeddedStack servers;

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private String table;
  private String namespace;
  private int serverId;
  private StatefulRedisConnection<String, String> redis;
  /** The listener of the sidecar {@link #start} started last. */
  private CdcInvalidatorLifecycle listener;

  @BeforeAll
  static void startServers() {
    servers = EmbeddedStack.start(StackConfig.embedded());
  }

  @AfterAll
  static void stopServers() {
    servers.close();
  }

  @BeforeEach
  void newTableAndNamespace() throws Exception {
    int n = SEQUENCE.incrementAndGet();
    table = "health_orders_" + n;
    namespace = "health" + n;
    serverId = 6100 + n;
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, version BIGINT NOT NULL)");
    RedisClient client = RedisClient.create(servers.redis().uri());
    closeables.add(0, client::shutdown);
    redis = client.connect();
    closeables.add(0, redis);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    closeables.clear();
  }

  @Test
  void beforeTheListenerStartsHealthIsDownAsNotStarted() {
    CdcInvalidatorLifecycle notStarted = new CdcInvalidatorLifecycle(null, null, null, null, null);

    Health health = new CdcHealthIndicator(notStarted::invalidator).health();

    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
    assertThat(health.getDetails()).containsEntry("state", "not started");
  }

  @Test
  void whileTheFirstStartFlushIsRefusedHealthIsDownAsStartingWithRedisAnswerThenUp() throws Exception {
    // A first start owes a flush of the mapped namespace before it may call itself live; a read-only Redis (a replica
    // of nothing, data kept) refuses it for as long as the test says.
    redis.sync().set(namespace + ":7", "V:1:{}");
    redis.sync().replicaof("127.0.0.1", 1);
    String base;
    try {
      base = start();
      await().atMost(WITHIN).until(() -> "starting".equals(cdc(base).path("details").path("state").asString())
          && cdc(base).path("details").path("reason").asString().contains("Redis refused"));
      JsonNode cdc = cdc(base);
      assertThat(overallStatus(base)).isEqualTo("DOWN");
      assertThat(cdc.path("status").asString()).isEqualTo("DOWN");
      assertThat(cdc.path("details").path("reason").asString())
          .contains("flushing the mapped namespaces [" + namespace + "]").contains("READONLY");
      assertThat(redis.sync().get(namespace + ":7")).as("not flushed yet").isEqualTo("V:1:{}");
    } finally {
      redis.sync().replicaofNoOne();
    }
    await().atMost(WITHIN).until(() -> "UP".equals(overallStatus(base)));
    assertThat(redis.sync().get(namespace + ":7")).as("flushed once Redis took it").isNull();
  }

  @Test
  void whileRedisIsStoppedAChangeMakesHealthDownAsStalledWithTheReasonThenUpWhenRedisIsBack() throws Exception {
    String base = start("--veracache.cdc.stall-threshold=500ms");
    await().atMost(WITHIN).until(() -> "UP".equals(overallStatus(base)));

    double retriesBefore = retries(base);
    servers.redis().stop();
    try {
      // The listener writes a progress marker every 500 ms; wait until Redis has refused one (the listener is now
      // retrying it), so the change below arrives while the listener is already stuck, not before.
      await().atMost(WITHIN).until(() -> retries(base) > retriesBefore);
      sql("INSERT INTO " + table + " VALUES (1, 'alice', 1)");
      await().atMost(WITHIN).until(() -> "stalled".equals(cdc(base).path("details").path("state").asString()));
      JsonNode cdc = cdc(base);
      assertThat(overallStatus(base)).isEqualTo("DOWN");
      assertThat(cdc.path("status").asString()).isEqualTo("DOWN");
      assertThat(cdc.path("details").path("reason").asString()).contains("Redis has refused");
    } finally {
      servers.redis().start();
    }
    await().atMost(WITHIN).until(() -> "UP".equals(overallStatus(base)));
  }

  @Test
  void aListenerStoppedByAFailureMakesHealthDownAsStoppedWithTheError() throws Exception {
    String base = start("--veracache.cdc.whole-table-change-policy=FAIL");
    await().atMost(WITHIN).until(() -> "UP".equals(overallStatus(base)));

    sql("TRUNCATE TABLE " + table);

    await().atMost(WITHIN).until(() -> "stopped".equals(cdc(base).path("details").path("state").asString()));
    JsonNode cdc = cdc(base);
    assertThat(overallStatus(base)).isEqualTo("DOWN");
    assertThat(cdc.path("status").asString()).isEqualTo("DOWN");
    assertThat(cdc.path("details").path("error").asString()).contains("IllegalStateException")
        .contains("veracache." + table).contains("TRUNCATE").contains("policy FAIL");
  }

  @Test
  void aClosedListenerMakesHealthDownAsClosed() throws Exception {
    String base = start();
    await().atMost(WITHIN).until(() -> "UP".equals(overallStatus(base)));

    listener.stop(); // what the shutdown does first, before the web server stops

    JsonNode cdc = cdc(base);
    assertThat(overallStatus(base)).isEqualTo("DOWN");
    assertThat(cdc.path("status").asString()).isEqualTo("DOWN");
    assertThat(cdc.path("details").path("state").asString()).isEqualTo("closed");
  }

  @Test
  void aListenerThatCannotStartFailsTheApplicationNamingTheTableAndColumn() throws Exception {
    Path mappings = Files.createTempFile(tmp, "mappings", ".yml");
    Files.writeString(mappings, """
        tables:
          - table: veracache.%s
            namespace: %s
            keys: ["{id}", "sku:{sku}"]
            version: version
        """.formatted(table, namespace));

    assertThatThrownBy(() -> SpringApplication.run(CdcSidecarApplication.class, arguments(mappings)))
        .rootCause().hasMessageContaining(table).hasMessageContaining("sku");
  }

  /** Starts the sidecar against the servers, mapping this test's table; returns the base URL. */
  private String start(String... extra) throws Exception {
    Path mappings = Files.createTempFile(tmp, "mappings", ".yml");
    Files.writeString(mappings, """
        tables:
          - table: veracache.%s
            namespace: %s
            keys: ["{id}"]
            version: version
        """.formatted(table, namespace));
    List<String> args = new ArrayList<>(List.of(arguments(mappings)));
    args.addAll(List.of(extra));
    ConfigurableApplicationContext app =
        SpringApplication.run(CdcSidecarApplication.class, args.toArray(String[]::new));
    closeables.add(0, app);
    listener = app.getBean(CdcInvalidatorLifecycle.class);
    return "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
  }

  private String[] arguments(Path mappings) throws Exception {
    return new String[] {
        "--server.port=0",
        "--veracache.cdc.database.host=" + servers.database().host(),
        "--veracache.cdc.database.port=" + servers.database().port(),
        "--veracache.cdc.database.user=" + servers.database().user(),
        "--veracache.cdc.redis.uri=" + servers.redis().uri(),
        "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.state-directory=" + Files.createTempDirectory(tmp, "sidecar-health-state"),
        "--veracache.cdc.server-id=" + serverId,
        "--veracache.cdc.name=sidecar-health-" + serverId};
  }

  private void sql(String statement) throws Exception {
    try (Connection c = servers.database().connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  /** {@code veracache_cdc_retries_total} of this test's listener, from the Prometheus endpoint. */
  private double retries(String base) {
    String line = "veracache_cdc_retries_total{listener=\"sidecar-health-" + serverId + "\"} ";
    return get(base + "/actuator/prometheus").lines().filter(l -> l.startsWith(line))
        .mapToDouble(l -> Double.parseDouble(l.substring(line.length()).trim())).findFirst().orElse(0);
  }

  private static String get(String url) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String overallStatus(String base) {
    return health(base).path("status").asString();
  }

  /** The {@code veracacheCdc} component of the health document. */
  private static JsonNode cdc(String base) {
    return health(base).path("components").path("veracacheCdc");
  }

  private static JsonNode health(String base) {
    try {
      return JsonMapper.builder().build().readTree(get(base + "/actuator/health"));
    } catch (Exception e) {
      return JsonMapper.builder().build().missingNode();
    }
  }
}
