package dev.veracache.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo as a user starts it, in a JVM of its own ({@code java -cp <class path> dev.veracache.demo.DemoApplication
 * --server.port=0}): it prints the URL line, serves a snapshot, and on SIGINT (Ctrl-C) exits with the CDC listener
 * closed before Redis stops, no ERROR and no stack trace in its output, and no MariaDB, Redis, Kafka broker or
 * watchdog process and no stack directory left.
 */
class DemoProcessIT {

  private static final Duration START = Duration.ofMinutes(3); // a loaded 2-core machine; ~30 s when idle
  private static final Pattern URL_LINE = Pattern.compile("^Veracache demo: open http://localhost:(\\d+)/$",
      Pattern.MULTILINE);

  @TempDir Path work;
  private Process process;

  @AfterEach
  void killLeftovers() {
    if (process != null) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  @Test
  void itPrintsTheUrlServesASnapshotAndOnSigintStopsQuietlyInOrderLeavingNothingRunning() throws Exception {
    assumeFalse(sigintIgnoredHere(), "SIGINT is ignored in this JVM (the build was started as a background job or under "
        + "nohup, which ignore it), so the demo's JVM would inherit that and Ctrl-C cannot be tested here: run the "
        + "build in the foreground");
    Path log = work.resolve("demo.log");
    // C1 only, as the sidecar's jar test: a start is mostly class loading (the suite's time budget)
    process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), DemoApplication.class.getName(),
        "--server.port=0")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    await().atMost(START).pollInterval(Duration.ofMillis(200))
        .until(() -> URL_LINE.matcher(output(log)).find() || !process.isAlive());
    Matcher url = URL_LINE.matcher(output(log));
    assertThat(url.find()).as("the URL line; output:%n%s", output(log)).isTrue();

    JsonSnapshot snapshot = new JsonSnapshot(new DemoApi(Integer.parseInt(url.group(1))));
    assertThat(snapshot.strategyCount()).isEqualTo(4);
    List<ProcessHandle> children = process.descendants().toList();
    assertThat(children).as("MariaDB, Redis and the Kafka broker run as child processes").hasSizeGreaterThanOrEqualTo(3);

    new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exits after SIGINT").isTrue();
    String out = output(log);
    assertThat(process.exitValue()).as("exit code after SIGINT; output:%n%s", out).isIn(0, 130);
    int closed = out.indexOf("listener veracache-demo-cdc closed");
    assertThat(closed).as("the listener logs its close; output:%n%s", out).isPositive();
    int flusherStopped = out.indexOf("stock flusher of 'stock' stopped");
    assertThat(flusherStopped).as("the stock flusher stops after the listener").isGreaterThan(closed);
    int redisStopped = out.indexOf("stopped", out.indexOf("embedded Redis 6", closed));
    assertThat(redisStopped).as("Redis stops after the listener and the flusher").isGreaterThan(flusherStopped);
    assertThat(out.lines().filter(l -> l.contains(" ERROR ")).toList()).as("no ERROR line; output:%n%s", out).isEmpty();
    assertThat(out).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    await().atMost(Duration.ofSeconds(20)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
    assertThat(stackDirectoriesOf(process.pid())).as("the stack's directory is deleted").isEmpty();
  }

  /**
   * Whether this process ignores SIGINT ({@code SigIgn} in {@code /proc/self/status}): a shell starts background jobs
   * that way, the setting passes to every child, and a JVM started with SIGINT ignored installs no handler for it.
   */
  private static boolean sigintIgnoredHere() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return false;
    }
    return Files.readAllLines(status).stream().filter(line -> line.startsWith("SigIgn:"))
        .map(line -> new java.math.BigInteger(line.substring("SigIgn:".length()).trim(), 16))
        .anyMatch(mask -> mask.testBit(1)); // bit n-1 is signal n; SIGINT is 2
  }

  /** {@code ${java.io.tmpdir}/veracache-stack/<pid>-*}: the embedded stack's directory of that JVM. */
  private static List<Path> stackDirectoriesOf(long pid) throws IOException {
    Path stacks = Path.of(System.getProperty("java.io.tmpdir"), "veracache-stack");
    if (!Files.isDirectory(stacks)) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(stacks)) {
      return dirs.filter(d -> d.getFileName().toString().startsWith(pid + "-")).toList();
    }
  }

  private static String output(Path log) throws IOException {
    return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
  }

  /** The few things read from a snapshot here. */
  private record JsonSnapshot(DemoApi api) {
    int strategyCount() {
      return api.snapshot().get("strategies").size();
    }
  }
}
