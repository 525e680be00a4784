package dev.veracache.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A Kafka Connect worker in standalone mode, run as a child JVM on this JVM's jars:
 * {@code java org.apache.kafka.connect.cli.ConnectStandalone worker.properties connector-1.properties ...}. The
 * connectors' jars (Debezium's MariaDB or MySQL connector) must be on this JVM's class path; the worker finds them
 * there.
 *
 * <p>Invariants:
 * <ul>
 *   <li>Keys and values are written by {@code JsonConverter} with their schemas; producers use {@code acks=all} with
 *       idempotence (Connect's defaults, set explicitly), so a record the worker counts as sent survives a broker
 *       restart.</li>
 *   <li>Source offsets live in {@value #OFFSETS_FILE} in the worker's directory, committed every
 *       {@value #OFFSET_FLUSH_MS} ms, only for records the broker acknowledged: a {@link #kill()} resumes from the
 *       last commit and produces what came after it again (at least once).</li>
 *   <li>{@link #start()} returns once the REST API answers and every connector and every task reports RUNNING; a
 *       connector that reports FAILED, a worker that exits, or {@link #START_TIMEOUT} fails the start, naming
 *       {@value #LOG_FILE}. {@link #addConnector} returns the same way. Every connector, added ones too, is written as
 *       a file at each start, so a restarted worker runs them all (resuming from their stored offsets).</li>
 *   <li>The directory records the worker's pid ({@value #PID_FILE}); a later JVM's stale cleanup recognises it by
 *       {@value #MAIN_CLASS}.</li>
 * </ul>
 */
final class EmbeddedKafkaConnect extends EmbeddedServer implements KafkaConnectWorker {

  static final String PID_FILE = "connect.pid";
  static final String LOG_FILE = "connect.log";
  static final String MAIN_CLASS = "org.apache.kafka.connect.cli.ConnectStandalone";
  static final String OFFSETS_FILE = "offsets.dat";
  static final int OFFSET_FLUSH_MS = 1000;
  static final Duration START_TIMEOUT = Duration.ofMinutes(2);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final String LOGBACK_FILE = "logback.xml";
  private static final String LOGBACK = """
      <configuration>
        <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n</pattern></encoder>
        </appender>
        <logger name="io.debezium.connector" level="INFO"/>
        <logger name="org.apache.kafka.connect.runtime.Worker" level="INFO"/>
        <root level="WARN"><appender-ref ref="OUT"/></root>
      </configuration>
      """;
  /** System property: true keeps C2 in the worker's JVM. */
  static final String FULL_JIT = "veracache.stack.connect.fullJit";
  /**
   * C1 only, as the broker (see {@link EmbeddedKafkaServer#JVM_OPTIONS}): the worker's start is mostly JIT work (19 s
   * seen under a full build's load). {@value #FULL_JIT} = true (a benchmark of the Kafka path) keeps C2.
   */
  private static final List<String> JVM_OPTIONS = Boolean.getBoolean(FULL_JIT)
      ? List.of("-Xmx512m", "-XX:+UseSerialGC") : List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

  private final String bootstrapServers;
  /** Every connector the worker runs: given at construction or added since; all are written as files at a start. */
  private final List<Map<String, String>> connectorConfigs = new java.util.concurrent.CopyOnWriteArrayList<>();
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private Process process;

  EmbeddedKafkaConnect(Path dir, int restPort, String bootstrapServers, List<Map<String, String>> connectorConfigs) {
    super(dir, restPort);
    connectorConfigs.forEach(EmbeddedKafkaConnect::requireNamed);
    this.bootstrapServers = bootstrapServers;
    this.connectorConfigs.addAll(connectorConfigs.stream().map(Map::copyOf).toList());
  }

  private static void requireNamed(Map<String, String> config) {
    for (String required : List.of("name", "connector.class")) {
      if (config.get(required) == null || config.get(required).isBlank()) {
        throw new IllegalArgumentException("connector configuration " + config.keySet() + " has no '" + required + "'");
      }
    }
  }

  @Override
  long startProcess() {
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(LOGBACK_FILE), LOGBACK);
      List<String> args = new ArrayList<>(JVM_OPTIONS);
      args.add(MAIN_CLASS);
      args.add(write("worker.properties", workerProperties()).toString());
      for (Map<String, String> config : connectorConfigs) {
        Properties connector = new Properties();
        connector.putAll(config);
        args.add(write("connector-" + config.get("name") + ".properties", connector).toString());
      }
      process = java(args).start();
      spawned(process.pid());
      Files.writeString(dir.resolve(PID_FILE), Long.toString(process.pid()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + this + ": " + e.getMessage() + "; see " + logFile(), e);
    }
    awaitRunning();
    return process.pid();
  }

  private Properties workerProperties() {
    Properties worker = new Properties();
    worker.put("bootstrap.servers", bootstrapServers);
    worker.put("listeners", "http://127.0.0.1:" + port);
    worker.put("key.converter", "org.apache.kafka.connect.json.JsonConverter");
    worker.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
    worker.put("key.converter.schemas.enable", "true");
    worker.put("value.converter.schemas.enable", "true");
    worker.put("offset.storage.file.filename", dir.resolve(OFFSETS_FILE).toString());
    worker.put("offset.flush.interval.ms", Integer.toString(OFFSET_FLUSH_MS));
    worker.put("producer.acks", "all");
    worker.put("producer.enable.idempotence", "true");
    worker.put("producer.linger.ms", "1");
    // The connectors are on the class path; scanning it for plugins (the default) takes seconds on a test class path.
    worker.put("plugin.discovery", "service_load");
    return worker;
  }

  private Path write(String name, Properties properties) throws IOException {
    Path file = dir.resolve(name);
    try (var out = Files.newBufferedWriter(file)) {
      properties.store(out, "written by " + EmbeddedKafkaConnect.class.getSimpleName());
    }
    return file;
  }

  /** On every jar of this JVM's class path but Veracache's own (the connectors' jars are among them). */
  private ProcessBuilder java(List<String> args) {
    String classPath = String.join(java.io.File.pathSeparator, EmbeddedKafkaServer.classPathJars().stream()
        .filter(jar -> !Path.of(jar).getFileName().toString().startsWith("veracache-")).toList());
    return EmbeddedKafkaServer.childJvm(dir, dir.resolve(LOGBACK_FILE), logFile(), classPath, args);
  }

  private Path logFile() {
    return dir.resolve(LOG_FILE);
  }

  private void awaitRunning() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    try {
      while (get("/connectors") == null) {
        checkStarting(deadline, "its REST API did not answer");
        Thread.sleep(100); // polling a condition (the REST API answers), not waiting for a race
      }
      for (String name : connectors()) {
        awaitConnectorRunning(name, deadline);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      killStarting();
      throw new IllegalStateException(e);
    }
  }

  private void awaitConnectorRunning(String name, long deadline) throws InterruptedException {
    while (true) {
      checkStarting(deadline, "connector " + name + " not RUNNING");
      String status = get("/connectors/" + name + "/status");
      List<String> states = states(status);
      if (states.contains("FAILED")) {
        throw new IllegalStateException(this + ": connector " + name + " FAILED: " + status + "; see " + logFile()
            + logTail());
      }
      if (states.size() >= 2 && states.stream().allMatch("RUNNING"::equals)) {
        return; // the connector and every task
      }
      Thread.sleep(100); // polling a condition (the REST status), not waiting for a race
    }
  }

  /** The connector's and its tasks' states in a status reply ({@code connector.state}, {@code tasks[].state}). */
  private static List<String> states(String status) {
    List<String> states = new ArrayList<>();
    if (status == null) {
      return states;
    }
    try {
      JsonNode root = JSON.readTree(status);
      states.add(root.path("connector").path("state").asText());
      root.path("tasks").forEach(task -> states.add(task.path("state").asText()));
    } catch (IOException e) {
      // not JSON yet: unknown
    }
    return states;
  }

  private void checkStarting(long deadline, String what) {
    if (process == null || !process.isAlive()) {
      int code = process == null ? -1 : process.exitValue();
      process = null;
      throw new IllegalStateException(this + " exited (code " + code + "); see " + logFile() + logTail());
    }
    if (workerGaveUp()) {
      killStarting();
      throw new IllegalStateException(this + " stopped at start; see " + logFile() + logTail());
    }
    if (System.nanoTime() > deadline) {
      killStarting();
      throw new IllegalStateException(this + ": " + what + " within " + START_TIMEOUT.toSeconds() + " s; killed it; "
          + "see " + logFile() + logTail());
    }
  }

  @Override
  public synchronized void addConnector(Map<String, String> config) {
    requireNamed(config);
    String name = config.get("name");
    if (connectors().contains(name)) {
      throw new IllegalArgumentException(this + " already runs a connector named '" + name + "'");
    }
    Map<String, String> body = new java.util.HashMap<>(config);
    body.remove("name");
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(restUrl() + "/connectors/" + name
          + "/config")).timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
          .PUT(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() / 100 != 2) {
        throw new IllegalStateException(this + " refused connector '" + name + "': HTTP " + response.statusCode()
            + " " + response.body());
      }
      connectorConfigs.add(Map.copyOf(config));
      awaitConnectorRunning(name, System.nanoTime() + START_TIMEOUT.toNanos());
    } catch (IOException e) {
      throw new IllegalStateException(this + ": cannot add connector '" + name + "': " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public synchronized void removeConnector(String name) {
    connectorConfigs.removeIf(config -> config.get("name").equals(name));
    try {
      http.send(HttpRequest.newBuilder(URI.create(restUrl() + "/connectors/" + name)).timeout(Duration.ofSeconds(30))
          .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(this + ": cannot remove connector '" + name + "': " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The reply to GET {@code path}, or null while the REST server does not answer or the answer is not 200. */
  private String get(String path) throws InterruptedException {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(restUrl() + path))
          .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? response.body() : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Connect logs this and then may hang in its shutdown instead of exiting. */
  private boolean workerGaveUp() {
    try {
      return Files.readString(logFile()).contains("Stopping due to error");
    } catch (IOException e) {
      return false;
    }
  }

  /** The end of the worker's log, for a failed start's message (the stack's directory is deleted at close). */
  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile());
      return ", which ends:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }

  private void killStarting() {
    if (process != null) {
      process.destroyForcibly();
      ProcessControl.awaitExit(process.pid(), Duration.ofSeconds(10));
      process = null;
    }
  }

  @Override
  void stopProcess(long pid) {
    process.destroy(); // SIGTERM: the worker stops its tasks and commits their offsets
    if (!ProcessControl.awaitExit(pid, STOP_TIMEOUT)) {
      process.destroyForcibly();
      ProcessControl.awaitExit(pid, Duration.ofSeconds(10));
    }
    process = null;
  }

  @Override
  void processKilled() {
    process = null;
  }

  @Override
  public void kill() {
    sigkill();
  }

  @Override
  public String restUrl() {
    return "http://127.0.0.1:" + port;
  }

  @Override
  public List<String> connectors() {
    return connectorConfigs.stream().map(config -> config.get("name")).toList();
  }

  /** The worker's own output. */
  Path log() {
    return logFile();
  }

  @Override
  public String toString() {
    return "embedded Kafka Connect worker on " + restUrl() + " running " + connectors();
  }
}
