package dev.veracache.chaos.workload;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The R16 injection ({@link Workload#truncate()}) against the real MariaDB: it waits for a write in flight, truncates
 * the table, and hands every row a delete version above anything committed before it, so that the history stays
 * exact while writers run; the next write of a row inserts it again above that version.
 */
@ExtendWith(EmbeddedStackExtension.class)
class WorkloadTruncateIT {

  private static final Duration PATIENCE = Duration.ofSeconds(20);

  @Test
  void truncateWaitsForAWriteInFlightAndDeletesEveryRowAboveItsVersion(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    Scenario scenario = ScenarioCatalog.parse(new ByteArrayInputStream("""
        scenarios:
          - {id: t, title: T, fault: TRUNCATE, keys: 3, strategies: [VERACACHE_CACHE_ASIDE]}
        """.getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
    Workload workload = new Workload(db, "wl_truncate", scenario);
    try (Connection writer = db.connect()) {
      writer.setAutoCommit(false);
      // A write in flight: its sequence row is locked and its version taken, its commit not yet made.
      try (Statement s = writer.createStatement()) {
        s.executeUpdate("UPDATE wl_truncate_seq SET last = last + 1 WHERE k = 'k1'");
        s.executeUpdate("UPDATE wl_truncate SET version = 2 WHERE k = 'k1'");
      }
      // A thread of its own: the common pool may be busy (it has one thread on 2 cores).
      CompletableFuture<List<History.Write>> truncation = new CompletableFuture<>();
      Thread truncating = new Thread(() -> {
        try {
          truncation.complete(workload.truncate());
        } catch (Exception e) {
          truncation.completeExceptionally(e);
        }
      }, "wl-truncate");
      truncating.setDaemon(true);
      truncating.start();
      awaitTruncationQueuedBehindTheWrite(db, truncation);
      assertThat(truncation).as("truncate while a write holds its row").isNotDone();
      assertThat(count(db, "SELECT COUNT(*) FROM wl_truncate")).as("rows while truncate waits").isEqualTo(3);

      writer.commit();
      List<History.Write> deletes = truncation.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);

      assertThat(count(db, "SELECT COUNT(*) FROM wl_truncate")).as("rows after truncate").isZero();
      assertThat(deletes).extracting(History.Write::key).containsExactlyInAnyOrder("k0", "k1", "k2");
      assertThat(deletes).allMatch(History.Write::deleted);
      assertThat(deletes).filteredOn(d -> d.key().equals("k1")).extracting(History.Write::version)
          .as("k1's delete is above the version committed in flight").containsExactly(3L);
      assertThat(deletes).filteredOn(d -> !d.key().equals("k1")).extracting(History.Write::version)
          .containsOnly(2L);
    }
    try (Connection next = db.connect()) {
      next.setAutoCommit(false);
      Workload.Commit commit = workload.write(next, 1, new Random(1));
      assertThat(commit.insert()).as("the next write of a truncated row inserts it").isTrue();
      assertThat(commit.version()).isEqualTo(4L);
      assertThat(workload.load("k1")).isEqualTo(4L);
      assertThat(workload.load("k0")).isEqualTo(History.NOT_FOUND);
    } finally {
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS wl_truncate, wl_truncate_seq");
      }
    }
  }

  /**
   * Waits until the truncation's locking read of the sequence rows has been in flight for 100 ms: reading three rows
   * takes microseconds, so it is queued behind the write's row lock.
   */
  private static void awaitTruncationQueuedBehindTheWrite(DatabaseServer db, CompletableFuture<?> truncation) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (count(db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
        + "'SELECT k FROM wl_truncate_seq FOR UPDATE%' AND TIME_MS >= 100") == 0) {
      if (truncation.isDone()) {
        truncation.get(); // throws what the truncation threw
        throw new AssertionError("the truncation finished while a write held its row");
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the truncation's locking read was not seen waiting within " + PATIENCE
            + "; processes: " + processes(db));
      }
      Thread.sleep(10); // polling a condition, not waiting for a race
    }
  }

  private static String processes(DatabaseServer db) throws Exception {
    StringBuilder list = new StringBuilder();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT ID, COMMAND, STATE, INFO FROM information_schema.PROCESSLIST")) {
      while (rs.next()) {
        list.append("\n  ").append(rs.getLong(1)).append(' ').append(rs.getString(2)).append(" [")
            .append(rs.getString(3)).append("] ").append(rs.getString(4));
      }
    }
    return list.toString();
  }

  private static long count(DatabaseServer db, String sql) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
