package dev.veracache.compose;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * docker-compose.yml brought up for real (Testcontainers' {@link ComposeContainer}, the local {@code docker compose},
 * images built from the jars {@code package} left in target/), the demo's smoke check run against it, the stack torn
 * down with its volumes. Where there is no Docker engine (these machines: {@code docker} is only a client) the test is
 * skipped with an assumption naming why, before anything is started; ComposeConsistencyTest checks the file there.
 */
class ComposeStackIT {

  private static final String DEMO_SERVICE = "demo-app";
  private static final int DEMO_PORT = 8080;
  private static final String SIDECAR_SERVICE = "cdc-sidecar";
  private static final int SIDECAR_PORT = 8081;
  private static final Duration STACK_START = Duration.ofMinutes(10);
  private static final Duration CHANGE_VISIBLE = Duration.ofSeconds(60);

  private final Path repository = Path.of(System.getProperty("veracache.repository.root", ".."))
      .toAbsolutePath().normalize();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final JsonMapper json = JsonMapper.builder().build();

  @Test
  void theStackComesUpAndAChangeBehindTheDemosBackBecomesVisibleThroughTheSidecar() throws Exception {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "no Docker engine reachable (Testcontainers found none): the compose stack cannot run here; "
            + "ComposeConsistencyTest checks docker-compose.yml without Docker");
    assumeTrue(dockerComposeWorks(), "Docker is reachable but `docker compose version` fails: install the Docker "
        + "Compose v2 plugin to run the stack");
    for (String jar : List.of("cdc-sidecar/target/veracache-cdc-sidecar-0.1.0-SNAPSHOT.jar",
        "demo-app/target/veracache-demo-app-0.1.0-SNAPSHOT.jar")) {
      assertThat(repository.resolve(jar)).as("%s, which the image copies: run ./mvnw -B -pl demo-app,cdc-sidecar -am "
          + "package -DskipTests (or verify) first", jar).exists();
    }
    Map<String, String> env = ComposeConsistency.readEnvFile(repository.resolve(".env.example"));

    try (ComposeContainer stack = new ComposeContainer(repository.resolve("docker-compose.yml").toFile())
        .withBuild(true)
        .withEnv(env)
        .withRemoveVolumes(true)
        .withStartupTimeout(STACK_START)
        .withExposedService(SIDECAR_SERVICE, SIDECAR_PORT,
            Wait.forHttp("/actuator/health/readiness").forStatusCode(200).withStartupTimeout(STACK_START))
        .withExposedService(DEMO_SERVICE, DEMO_PORT,
            Wait.forHttp("/api/snapshot").forStatusCode(200).withStartupTimeout(STACK_START))) {
      stack.start();
      String base = "http://" + stack.getServiceHost(DEMO_SERVICE, DEMO_PORT) + ":"
          + stack.getServicePort(DEMO_SERVICE, DEMO_PORT);

      JsonNode snapshot = get(base + "/api/snapshot");
      assertThat(snapshot.path("mode").asString()).isEqualTo("external");
      assertThat(snapshot.path("cdc").path("where").asString()).isEqualTo("sidecar");

      HttpResponse<String> change = http.send(HttpRequest.newBuilder(URI.create(base + "/api/actions/sql-change"))
          .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(change.statusCode()).as("POST /api/actions/sql-change: %s", change.body()).isEqualTo(200);

      // The change is measured by the demo; wait (bounded) until it reports when the cache-aside read saw it.
      long deadline = System.nanoTime() + CHANGE_VISIBLE.toNanos();
      JsonNode last = get(base + "/api/snapshot").path("lastSqlChange");
      while (last.path("visibleAfterMillis").isNull() || last.path("visibleAfterMillis").isMissingNode()) {
        assertThat(System.nanoTime()).as("lastSqlChange.visibleAfterMillis within %s; last: %s", CHANGE_VISIBLE, last)
            .isLessThan(deadline);
        TimeUnit.MILLISECONDS.sleep(250);
        last = get(base + "/api/snapshot").path("lastSqlChange");
      }
      assertThat(last.path("visibleAfterMillis").asLong()).isGreaterThanOrEqualTo(0);

      // The invalidation came from the sidecar's listener: it applied the change (its Prometheus counter).
      String sidecar = "http://" + stack.getServiceHost(SIDECAR_SERVICE, SIDECAR_PORT) + ":"
          + stack.getServicePort(SIDECAR_SERVICE, SIDECAR_PORT);
      HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(sidecar + "/actuator/prometheus"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(metrics.body().lines()
          .filter(l -> l.startsWith("veracache_cdc_events_total{") && l.contains("result=\"applied\""))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum())
          .as("veracache_cdc_events_total{result=\"applied\"} of the sidecar").isGreaterThan(0);
    }
  }

  private JsonNode get(String url) throws IOException, InterruptedException {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("GET %s: %s", url, response.body()).isEqualTo(200);
    return json.readTree(response.body());
  }

  private static boolean dockerComposeWorks() {
    try {
      Process p = new ProcessBuilder("docker", "compose", "version").redirectErrorStream(true).start();
      p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
