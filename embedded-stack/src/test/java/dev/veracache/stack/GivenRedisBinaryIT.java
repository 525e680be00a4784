package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The embedded Redis started from a given redis-server binary (by default Debian's Redis 7.0 at
 * {@code /usr/bin/redis-server}; another with {@code -Dveracache.test.redis.binary=...}) has the same controls as the
 * bundled 6.2: free port, private directory, stop/start/restart, pause/resume, no orphans. Skipped, saying why, where
 * that binary is not installed.
 */
class GivenRedisBinaryIT {

  static final String BINARY_PROPERTY = "veracache.test.redis.binary";
  private static Path binary;
  private static String binaryVersion;

  /** Per test (not in a @BeforeAll) so that each test is reported skipped, with the reason, where it is missing. */
  @BeforeEach
  void findTheBinary() throws Exception {
    binary = Path.of(System.getProperty(BINARY_PROPERTY, "/usr/bin/redis-server"));
    assumeTrue(Files.isExecutable(binary), "skipped: no executable redis-server at " + binary
        + " (install Debian's with 'apt-get install -y redis-server', or name one with -D" + BINARY_PROPERTY + "=)");
    if (binaryVersion == null) {
      binaryVersion = versionPrintedBy(binary);
    }
  }

  @Test
  void theStackRunsTheGivenBinaryAsItsEmbeddedRedis() {
    // The database is a never-contacted external one, so that only Redis starts.
    StackConfig config = StackConfig.builder().redisBinary(binary)
        .externalDatabase("jdbc:mysql://127.0.0.1:1/unused", "root", "").build();
    try (EmbeddedStack stack = EmbeddedStack.start(config)) {
      RedisServer redis = stack.redis();
      assertThat(redis.controllable()).isTrue();
      assertThat(redis.version()).isEqualTo(binaryVersion);
      assertThat(redis.toString()).contains(binaryVersion).contains(binary.toString());
    }
  }

  @Test
  void aGivenBinaryRunsOnAFreePortInItsPrivateDirectoryAndIsStoppedRestartedPausedAndResumed() throws Exception {
    Path stackDir = StackDirectories.create();
    EmbeddedRedisServer redis = new EmbeddedRedisServer(stackDir.resolve("redis"), StackDirectories.freePort(),
        binary);
    try {
      redis.start();
      assertThat(ping(redis, 1000)).isEqualTo("+PONG");
      assertThat(redis.version()).isEqualTo(binaryVersion);
      assertThat(configGet(redis, "dir")).isEqualTo(stackDir.resolve("redis").toRealPath().toString());
      assertThat(configGet(redis, "save")).as("no persistence").isEmpty();
      assertThat(configGet(redis, "bind")).isEqualTo("127.0.0.1");

      RespClient.command("127.0.0.1", redis.port(), null, 1000, "SET", "gone", "soon");
      long pidBefore = redis.pid();
      int port = redis.port();
      redis.restart();
      assertThat(redis.pid()).isNotEqualTo(pidBefore);
      assertThat(ProcessControl.alive(pidBefore)).isFalse();
      assertThat(redis.port()).isEqualTo(port);
      assertThat(RespClient.command("127.0.0.1", redis.port(), null, 1000, "GET", "gone"))
          .as("no data survives a restart").isEqualTo("$-1");

      redis.pause();
      assertThat(redis.isPaused()).isTrue();
      assertThatThrownBy(() -> ping(redis, 300)).isInstanceOf(IOException.class);
      redis.resume();
      assertThat(ping(redis, 1000)).isEqualTo("+PONG");

      long pid = redis.pid();
      redis.pause();
      redis.stop(); // a paused server is resumed, then stopped
      assertThat(redis.isRunning()).isFalse();
      assertThat(ProcessControl.awaitExit(pid, Duration.ofSeconds(5))).isTrue();
    } finally {
      redis.stop();
      StackDirectories.delete(stackDir);
    }
  }

  @Test
  void aServerFromAGivenBinaryDiesWithAJvmKilledByForce() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        StackChildMain.class.getName(), binary.toString()).redirectErrorStream(true).start();
    long redisPid;
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.startsWith("PIDS "));
      assertThat(line).as("the child printed its server pids").isNotNull();
      redisPid = Long.parseLong(line.split(" ")[2]);
      assertThat(ProcessControl.executable(redisPid)).as("the child runs the given binary")
          .contains(binary.toRealPath().toString());

      child.destroyForcibly(); // SIGKILL: no shutdown hook runs
      assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      child.destroyForcibly();
    }
    assertThat(ProcessControl.awaitExit(redisPid, Duration.ofSeconds(15))).as("the given redis-server is gone")
        .isTrue();
    StackDirectories.cleanStale();
  }

  @Test
  void aServerFromAGivenBinaryThatEscapedItsWatchdogIsRecognisedAndKilledWhenItsDirectoryIsCleaned()
      throws Exception {
    // Debian's redis-server is a link to redis-check-rdb: the process is not called redis-server. Started without a
    // watchdog, in the directory of a JVM that no longer exists.
    Process deadJvm = new ProcessBuilder("true").start();
    deadJvm.waitFor();
    Path stackDir = StackDirectories.root().resolve(deadJvm.pid() + "-escaped7");
    EmbeddedRedisServer escaped = new EmbeddedRedisServer(stackDir.resolve("redis"), StackDirectories.freePort(),
        binary);
    long pid = escaped.startProcess();
    try {
      assertThat(StackDirectories.cleanStale()).isGreaterThanOrEqualTo(1);
      assertThat(ProcessControl.awaitExit(pid, Duration.ofSeconds(10))).as("the escaped server was killed").isTrue();
      assertThat(Files.exists(stackDir)).isFalse();
    } finally {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      StackDirectories.delete(stackDir);
    }
  }

  @Test
  void aBinaryThatIsNotARedisServerFailsTheStartNamingIt() throws Exception {
    Path notRedis = Path.of("/bin/true");
    assumeTrue(Files.isExecutable(notRedis), "skipped: no /bin/true");
    Path stackDir = StackDirectories.create();
    try {
      EmbeddedRedisServer redis = new EmbeddedRedisServer(stackDir.resolve("redis"), StackDirectories.freePort(),
          notRedis);
      assertThatThrownBy(redis::start).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("/bin/true").hasMessageContaining("exited at start");
      assertThat(redis.isRunning()).isFalse();
    } finally {
      StackDirectories.delete(stackDir);
    }
  }

  private static String ping(RedisServer redis, int timeoutMillis) throws IOException {
    return RespClient.command("127.0.0.1", redis.port(), null, timeoutMillis, "PING");
  }

  /** CONFIG GET name's value: the second element of the two-element array reply. */
  private static String configGet(RedisServer redis, String name) throws IOException {
    return RespClient.configGet("127.0.0.1", redis.port(), null, 1000, name);
  }

  /** "Redis server v=7.0.15 sha=..." -> 7.0.15 */
  private static String versionPrintedBy(Path binary) throws Exception {
    Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    Matcher m = Pattern.compile("v=(\\S+)").matcher(out);
    assertThat(m.find()).as("'%s --version' printed 'v=<version>': %s", binary, out).isTrue();
    return m.group(1);
  }
}
