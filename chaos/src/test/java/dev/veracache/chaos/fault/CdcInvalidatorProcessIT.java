package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.cdc.CdcOptions;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The listener as a real child JVM against the real embedded stack: live, paused, crashed between reading and applying
 * a batch (R6) and restarted from its stored position, killed and restarted with a fresh state (the baseline that
 * loses writes), misconfigured. Cache entries are plain strings set here; "invalidated" means the value {@code x} is
 * gone (the listener leaves a tombstone or deletes). Every wait is a bounded poll on observable state; every check
 * that something did NOT happen is made while the child provably could not act (dead, or stopped by SIGSTOP) or after
 * a later change was provably applied.
 */
@ExtendWith(EmbeddedStackExtension.class)
class CdcInvalidatorProcessIT {

  private static final Duration LIVE_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(10);
  private static final String CACHED = "x";

  private final List<CdcInvalidatorProcess> children = new ArrayList<>();
  private final List<Path> stateDirectories = new ArrayList<>();
  private RedisClient redisClient;
  private StatefulRedisConnection<String, String> redisConnection;
  private RedisCommands<String, String> redis;

  @BeforeEach
  void connect(EmbeddedStack stack) {
    redisClient = RedisClient.create(stack.redis().uri());
    redisConnection = redisClient.connect();
    redis = redisConnection.sync();
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (CdcInvalidatorProcess child : children) {
      child.close();
      assertThat(child.isAlive()).as("%s after close", child).isFalse();
    }
    redisConnection.close();
    redisClient.shutdown();
    for (Path dir : stateDirectories) {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** (a) LIVE and a committed UPDATE invalidates; (d) SIGSTOP defers it to SIGCONT; (b) R6 crash, replay on restart. */
  @Test
  void invalidatesWhileLiveDefersWhilePausedAndReplaysABatchItCrashedBeforeApplying(EmbeddedStack stack)
      throws Exception {
    DatabaseServer db = stack.database();
    String table = createTable(db, "lp_crash");
    CdcInvalidatorProcess.Spec spec = spec(stack, table, "lp", 7601, "lp-crash", newStateDirectory());

    CdcInvalidatorProcess first = start(spec); // a first start flushes the namespace once live: cache after it
    cache("lp", "k1", "k2", "k5");
    assertThat(first.isAlive()).isTrue();
    assertThat(first.pid()).isNotEqualTo(ProcessHandle.current().pid());

    // (a) a committed update invalidates
    bump(db, table, "k1");
    assertInvalidated("lp:k1");

    // (d) stopped, the child cannot apply; resumed, it does
    first.pause();
    bump(db, table, "k5");
    assertHolds("lp:k5", Duration.ofMillis(500));
    first.resume();
    assertInvalidated("lp:k5");

    // (b) R6: the batch is read but the child halts before applying it
    first.crashBeforeNextApply();
    bump(db, table, "k2");
    assertThat(first.awaitExit(APPLY_TIMEOUT)).as("the child crashed at the k2 batch").isTrue();
    assertThat(first.exitCode()).hasValue(CdcInvalidatorMain.EXIT_CRASHED);
    assertThat(first.lastOutput()).contains(CdcInvalidatorMain.CRASHING);
    assertThat(redis.get("lp:k2")).as("the crashed batch was not applied").isEqualTo(CACHED);

    // the same state directory resumes from the last acknowledged position: the k2 change is replayed
    CdcInvalidatorProcess restarted = start(spec);
    assertInvalidated("lp:k2");
    assertThat(restarted.isAlive()).isTrue();
  }

  /**
   * (c) The naive baseline: a listener that forgets its position, and declares every start a fresh install, loses
   * the writes made while it was down.
   */
  @Test
  void aListenerRestartedWithAFreshStateMissesTheWritesMadeWhileItWasDown(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    String table = createTable(db, "lp_kill");
    CdcInvalidatorProcess.Spec spec = spec(stack, table, "lpk", 7602, "lp-kill", newStateDirectory())
        .withFirstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL);
    cache("lpk", "k3", "k4");

    CdcInvalidatorProcess first = start(spec);
    first.kill();
    assertThat(first.isAlive()).isFalse();
    assertThat(first.exitCode()).hasValue(137); // 128 + SIGKILL
    bump(db, table, "k3");

    CdcInvalidatorProcess fresh = start(spec.withStateDirectory(newStateDirectory()));
    bump(db, table, "k4");
    assertInvalidated("lpk:k4"); // the restarted listener is past this point in the binlog ...
    assertThat(redis.get("lpk:k3")).as("... and never saw the k3 change made while none ran").isEqualTo(CACHED);
    assertThat(fresh.isAlive()).isTrue();
  }

  /** (e) A missing property: exit code 2 and a message naming it; nothing printed on the protocol stream. */
  @Test
  void aMissingPropertyExitsWithCode2AndNamesIt(EmbeddedStack stack) throws Exception {
    CdcInvalidatorProcess.Spec spec = spec(stack, "no_such_table", "lpm", 7603, "lp-missing", newStateDirectory());
    Map<String, String> properties = new LinkedHashMap<>(spec.properties());
    properties.remove("table");
    Process child = CdcInvalidatorProcess.childProcess(properties, spec.environment()).start();
    try {
      child.getOutputStream(); // kept open: the child must exit for its configuration, not for EOF
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).isEqualTo(CdcInvalidatorMain.EXIT_BAD_CONFIGURATION);
      String stderr = new String(child.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      String stdout = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(stderr).contains("veracache.listener.table");
      assertThat(stdout).isEmpty();
    } finally {
      child.destroyForcibly();
      child.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** A listener that cannot start: the error names it and carries its output, and no secret is on any line. */
  @Test
  void aFailedStartNamesTheListenerAndNeverShowsTheSecrets(EmbeddedStack stack) throws Exception {
    String dbSecret = "db-s3cret-" + System.nanoTime();
    String redisSecret = "redis-s3cret-" + System.nanoTime();
    DatabaseServer db = stack.database();
    CdcInvalidatorProcess.Spec spec = new CdcInvalidatorProcess.Spec(db.host(), db.port(), db.user(), dbSecret,
        db.databaseName(), "no_such_table", "lpf", List.of("{k:asis}"), null, 7604, "lp-failing", newStateDirectory(),
        "redis://:" + redisSecret + "@127.0.0.1:" + stack.redis().port());
    assertThat(String.join(" ", CdcInvalidatorProcess.childProcess(spec.properties(), spec.environment()).command()))
        .as("the command line, which ps shows").doesNotContain(dbSecret).doesNotContain(redisSecret);

    assertThatThrownBy(() -> CdcInvalidatorProcess.start(spec, LIVE_TIMEOUT))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("lp-failing")
        .hasMessageContaining("exited with code " + CdcInvalidatorMain.EXIT_FAILED)
        .hasMessageContaining(CdcInvalidatorMain.FAILED)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(dbSecret).doesNotContain(redisSecret));
  }

  private CdcInvalidatorProcess start(CdcInvalidatorProcess.Spec spec) {
    long started = System.nanoTime();
    CdcInvalidatorProcess child = CdcInvalidatorProcess.start(spec, LIVE_TIMEOUT);
    children.add(child);
    System.out.printf("listener %s pid %d: start to LIVE in %d ms%n", spec.name(), child.pid(),
        (System.nanoTime() - started) / 1_000_000);
    return child;
  }

  private CdcInvalidatorProcess.Spec spec(EmbeddedStack stack, String table, String namespace, long serverId, String name,
      Path stateDirectory) {
    DatabaseServer db = stack.database();
    return new CdcInvalidatorProcess.Spec(db.host(), db.port(), db.user(), db.password(), db.databaseName(), table,
        namespace, List.of("{k:asis}"), "version", serverId, name, stateDirectory, stack.redis().uri());
  }

  private Path newStateDirectory() throws Exception {
    Path dir = Files.createTempDirectory("listener-process-test");
    stateDirectories.add(dir);
    return dir;
  }

  private static String createTable(DatabaseServer db, String name) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + name + " (k VARCHAR(20) PRIMARY KEY, version BIGINT NOT NULL)");
      s.execute("INSERT INTO " + name + " SELECT CONCAT('k', seq), 1 FROM seq_0_to_9");
    }
    return name;
  }

  private void cache(String namespace, String... keys) {
    for (String key : keys) {
      redis.set(namespace + ":" + key, CACHED);
    }
  }

  /** Commits a version bump of one row (autocommit). */
  private static void bump(DatabaseServer db, String table, String key) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET version = version + 1 WHERE k = ?")) {
      ps.setString(1, key);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  private void assertInvalidated(String redisKey) throws InterruptedException {
    assertThat(poll(() -> !CACHED.equals(redis.get(redisKey)), APPLY_TIMEOUT))
        .as("%s invalidated within %s", redisKey, APPLY_TIMEOUT).isTrue();
  }

  /** Only used while the child is stopped (SIGSTOP): it cannot act, so this cannot race. */
  private void assertHolds(String redisKey, Duration during) throws InterruptedException {
    assertThat(poll(() -> !CACHED.equals(redis.get(redisKey)), during)).as("%s changed", redisKey).isFalse();
  }

  /** True as soon as the condition holds; false if it did not within the timeout. */
  private static boolean poll(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(20);
    }
    return condition.getAsBoolean();
  }
}
