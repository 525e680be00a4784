package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.veracache.chaos.fault.WriteBehindProcess.Ack;
import dev.veracache.chaos.fault.WriteBehindProcess.Spec;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * R8 baseline on a real MariaDB: a heap-queue write-behind in a child JVM killed with SIGKILL loses acknowledged
 * writes. Waits are bounded polls; every child is killed before its test ends.
 */
@ExtendWith(EmbeddedStackExtension.class)
class HeapWriteBehindProcessIT {

  private static final int KEYS = 20;
  private static final int PUTS_PER_SECOND = 200;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final AtomicInteger TABLES = new AtomicInteger();

  @Test
  void withNoFlushBeforeTheKillEveryAcknowledgedWriteIsLost(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    String table = createTable(db);
    List<Ack> acks;
    long pid;
    try (WriteBehindProcess child = WriteBehindProcess.start(spec(db, table, 60_000), READY_TIMEOUT)) {
      pid = child.pid();
      awaitTrue("50 acks", () -> child.acks().size() >= 50);
      child.kill();
      acks = child.acks();
    }
    assertGone(pid);

    Map<String, Long> committed = versions(db, table);
    assertThat(committed.values()).as("nothing was flushed").containsOnly(1L);
    assertThat(WriteBehindProcess.lostWrites(acks, committed::get)).as("every ack lost").isEqualTo(acks);
    Map<String, List<Long>> versionsByKey = acks.stream()
        .collect(Collectors.groupingBy(Ack::key, Collectors.mapping(Ack::version, Collectors.toList())));
    versionsByKey.forEach((key, versions) -> {
      List<Long> expected = new ArrayList<>();
      for (long v = 2; v < 2 + versions.size(); v++) {
        expected.add(v);
      }
      assertThat(versions).as("versions of %s: committed + 1, + 2, ...", key).isEqualTo(expected);
    });
    assertThat(acks).extracting(Ack::ackNanos).isSorted();
  }

  @Test
  void aKillBetweenFlushesLosesTheQueuedAcknowledgedWritesButNotTheFlushedOnes(EmbeddedStack stack)
      throws Exception {
    DatabaseServer db = stack.database();
    String table = createTable(db);
    List<Ack> acks;
    long pid;
    try (WriteBehindProcess child = WriteBehindProcess.start(spec(db, table, 500), READY_TIMEOUT)) {
      pid = child.pid();
      awaitTrue("50 acks", () -> child.acks().size() >= 50);
      // Kill just after a flush committed: the next one is ~500 ms away, so the acks read meanwhile are in the heap.
      long before = versionSum(db, table);
      awaitTrue("a flush committed", () -> versionSum(db, table) > before);
      int acksAtFlush = child.acks().size();
      awaitTrue("5 more acks", () -> child.acks().size() >= acksAtFlush + 5);
      child.kill();
      acks = child.acks();
    }
    assertGone(pid);

    Map<String, Long> committed = versions(db, table);
    assertThat(committed.values()).as("flushes reached the database").anyMatch(v -> v > 1);
    List<Ack> lost = WriteBehindProcess.lostWrites(acks, committed::get);
    assertThat(lost).as("acknowledged writes still queued at the kill").isNotEmpty();
    assertThat(lost.size()).as("flushed writes are not lost").isLessThan(acks.size());
    assertThat(lost).allMatch(ack -> ack.version() > committed.get(ack.key()));
    assertThat(acks.stream().filter(ack -> !lost.contains(ack)))
        .allMatch(ack -> ack.version() <= committed.get(ack.key()));
    System.out.printf("R8 heap write-behind: %d acks, %d lost at SIGKILL (flush 500 ms, %d puts/s)%n",
        acks.size(), lost.size(), PUTS_PER_SECOND);
  }

  @Test
  void aMissingPropertyExitsWithCode2NamingIt(@TempDir Path dir) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Path output = dir.resolve("child.txt");
    ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "-D" + HeapWriteBehindMain.JDBC_URL + "=jdbc:mysql://127.0.0.1:1/x", "-D" + HeapWriteBehindMain.USER + "=u",
        "-D" + HeapWriteBehindMain.KEYS + "=3", "-D" + HeapWriteBehindMain.PUTS_PER_SECOND + "=10",
        "-D" + HeapWriteBehindMain.FLUSH_INTERVAL_MILLIS + "=100", "-D" + HeapWriteBehindMain.SEED + "=1",
        HeapWriteBehindMain.class.getName())
        .redirectErrorStream(true).redirectOutput(output.toFile());
    builder.environment().put(HeapWriteBehindMain.PASSWORD_ENV, "never-printed-secret");
    Process child = builder.start();
    try {
      assertThat(child.waitFor(20, TimeUnit.SECONDS)).as("child exited").isTrue();
    } finally {
      child.destroyForcibly();
    }
    String printed = Files.readString(output, StandardCharsets.UTF_8);
    assertThat(child.exitValue()).as("exit code; output: %s", printed).isEqualTo(2);
    assertThat(printed).contains("veracache.writebehind.table").doesNotContain("never-printed-secret");
  }

  @Test
  void aChildThatFailsBeforeReadyIsReportedWithItsOutputButNotThePassword(EmbeddedStack stack) {
    DatabaseServer db = stack.database();
    Spec bad = new Spec(db.jdbcUrl(), db.user(), "hunter2-secret", "wb_unused", 0, PUTS_PER_SECOND, 500, 1);
    assertThat(bad.toString()).doesNotContain("hunter2-secret");
    Throwable failure = catchThrowable(() -> WriteBehindProcess.start(bad, READY_TIMEOUT));
    assertThat(failure).isInstanceOf(IllegalStateException.class);
    assertThat(failure.getMessage()).contains("exited with code 2", "veracache.writebehind.keys")
        .doesNotContain("hunter2-secret");
  }

  @Test
  void theChildClassPathComesFromAUrlClassLoaderWhenThereIsOne(@TempDir Path dir) throws Exception {
    Path jar = Files.createFile(dir.resolve("a.jar"));
    Path classes = Files.createDirectories(dir.resolve("classes"));
    try (URLClassLoader loader = new URLClassLoader(
        new URL[] {jar.toUri().toURL(), classes.toUri().toURL(), new URL("http://example.invalid/b.jar")}, null)) {
      assertThat(ChildJvm.classPath(null, loader, "fallback"))
          .isEqualTo(jar + File.pathSeparator + classes);
    }
    assertThat(ChildJvm.classPath(ClassLoader.getPlatformClassLoader(), null, "fallback"))
        .isEqualTo("fallback");
  }

  private static Spec spec(DatabaseServer db, String table, long flushIntervalMillis) {
    return new Spec(db.jdbcUrl(), db.user(), db.password(), table, KEYS, PUTS_PER_SECOND, flushIntervalMillis, 42);
  }

  private static String createTable(DatabaseServer db) throws SQLException {
    String name = "wb_" + ProcessHandle.current().pid() + "_" + TABLES.incrementAndGet();
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + name + " (k VARCHAR(20) PRIMARY KEY, version BIGINT NOT NULL)");
      s.execute("INSERT INTO " + name + " SELECT CONCAT('k', seq), 1 FROM seq_0_to_" + (KEYS - 1));
    }
    return name;
  }

  private static Map<String, Long> versions(DatabaseServer db, String table) throws SQLException {
    Map<String, Long> versions = new HashMap<>();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT k, version FROM " + table)) {
      while (rs.next()) {
        versions.put(rs.getString(1), rs.getLong(2));
      }
    }
    assertThat(versions).hasSize(KEYS);
    return versions;
  }

  private static long versionSum(DatabaseServer db, String table) {
    try {
      return versions(db, table).values().stream().mapToLong(Long::longValue).sum();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + WAIT + ": " + what);
      }
      Thread.sleep(5);
    }
  }

  private static void assertGone(long pid) {
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("child %d gone", pid).isFalse();
  }
}
