package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import redis.embedded.core.ExecutableProvider;

/** No server (MariaDB, Redis, the Kafka broker's JVM) outlives the JVM that started it, even one killed by SIGKILL. */
class OrphanCleanupIT {

  @Test
  void serversDieWithAJvmKilledByForceAndItsDirectoryIsCleanedAtTheNextStart() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    // A temporary directory of its own: no other JVM's stack start (another build on the machine) cleans the killed
    // child's directory before this test looks for it.
    Path tmp = Files.createTempDirectory("orphan-cleanup");
    Path root = tmp.resolve("veracache-stack");
    Process child = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"),
        StackChildMain.class.getName()).redirectErrorStream(true).start();
    long dbPid;
    long redisPid;
    long kafkaPid;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.startsWith("PIDS "));
      assertThat(line).as("the child printed its server pids").isNotNull();
      String[] pids = line.split(" ");
      dbPid = Long.parseLong(pids[1]);
      redisPid = Long.parseLong(pids[2]);
      kafkaPid = Long.parseLong(pids[3]);
      assertThat(ProcessControl.alive(dbPid)).isTrue();
      assertThat(ProcessControl.alive(redisPid)).isTrue();
      assertThat(ProcessControl.commandLine(kafkaPid)).get().asString().contains(EmbeddedKafkaServer.MAIN_CLASS);

      child.destroyForcibly(); // SIGKILL: no shutdown hook runs
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      child.destroyForcibly(); // a failed assertion above must not leave the child (and its servers) running
    }
    assertThat(ProcessControl.awaitExit(dbPid, Duration.ofSeconds(15))).as("mariadbd gone").isTrue();
    assertThat(ProcessControl.awaitExit(redisPid, Duration.ofSeconds(15))).as("redis-server gone").isTrue();
    assertThat(ProcessControl.awaitExit(kafkaPid, Duration.ofSeconds(15))).as("Kafka broker JVM gone").isTrue();

    List<Path> leftBehind;
    try (var dirs = Files.list(root)) {
      leftBehind = dirs.filter(p -> p.getFileName().toString().startsWith(child.pid() + "-")).toList();
    }
    assertThat(leftBehind).as("the killed JVM could not delete its directory").hasSize(1);
    StackDirectories.cleanStale(root);
    assertThat(Files.exists(leftBehind.get(0))).isFalse();
    StackDirectories.delete(tmp);
  }

  @Test
  void aServerThatEscapedItsWatchdogIsKilledWhenItsDirectoryIsCleaned() throws Exception {
    // A redis-server with no watchdog, recorded in the directory of a JVM that no longer exists.
    Process deadJvm = new ProcessBuilder("true").start();
    deadJvm.waitFor();
    Path dir = StackDirectories.root().resolve(deadJvm.pid() + "-escaped").resolve("redis");
    Files.createDirectories(dir);
    int port = StackDirectories.freePort();
    Process orphan = new ProcessBuilder(ExecutableProvider.newJarResourceProvider().get().getAbsolutePath(),
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      Files.writeString(dir.resolve(EmbeddedRedisServer.PID_FILE), Long.toString(orphan.pid()));

      assertThat(StackDirectories.cleanStale()).isGreaterThanOrEqualTo(1);
      assertThat(orphan.waitFor(10, TimeUnit.SECONDS)).as("orphan killed").isTrue();
      assertThat(Files.exists(dir.getParent())).isFalse();
    } finally {
      orphan.destroyForcibly();
    }
  }

  @Test
  void anEscapedKafkaBrokerIsRecognisedByItsMainClassAndOnlyItIsKilled() throws Exception {
    // Stand-ins with the command lines that matter (starting a real broker without a watchdog costs 6 s): the cleanup
    // recognises a broker by kafka.Kafka on its command line, and must leave a reused pid (anything else) alone.
    Process deadJvm = new ProcessBuilder("true").start();
    deadJvm.waitFor();
    Path stale = StackDirectories.root().resolve(deadJvm.pid() + "-escaped-kafka");
    Process broker = new ProcessBuilder("sh", "-c", "sleep 60; true", EmbeddedKafkaServer.MAIN_CLASS).start();
    Process reusedPid = new ProcessBuilder("sh", "-c", "sleep 60; true", "something-else").start();
    try {
      Files.createDirectories(stale.resolve("kafka"));
      Files.writeString(stale.resolve("kafka").resolve(EmbeddedKafkaServer.PID_FILE), Long.toString(broker.pid()));
      Path other = StackDirectories.root().resolve(deadJvm.pid() + "-reused-pid").resolve("kafka");
      Files.createDirectories(other);
      Files.writeString(other.resolve(EmbeddedKafkaServer.PID_FILE), Long.toString(reusedPid.pid()));

      assertThat(StackDirectories.cleanStale()).isGreaterThanOrEqualTo(2);
      assertThat(broker.waitFor(10, TimeUnit.SECONDS)).as("escaped broker killed").isTrue();
      assertThat(reusedPid.isAlive()).as("a process that is not a broker is left alone").isTrue();
      assertThat(Files.exists(stale)).isFalse();
    } finally {
      broker.destroyForcibly();
      reusedPid.destroyForcibly();
    }
  }

  @Test
  void aLiveJvmsDirectoryIsLeftAlone() throws Exception {
    Path mine = StackDirectories.create();
    try {
      StackDirectories.cleanStale();
      assertThat(Files.exists(mine)).isTrue();
    } finally {
      StackDirectories.delete(mine);
    }
  }
}
