package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

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
class WorkloadTruncateTest {

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
      CompletableFuture<List<History.Write>> truncation = CompletableFuture.supplyAsync(() -> {
        try {
          return workload.truncate();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      awaitLockWait(db);
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

  /** Waits until some transaction is waiting for a row lock: the truncation is queued behind the write. */
  private static void awaitLockWait(DatabaseServer db) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (count(db, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'") == 0) {
      assertThat(System.nanoTime()).as("a lock wait within %s", PATIENCE).isLessThan(deadline);
      Thread.sleep(10); // polling a condition, not waiting for a race
    }
  }

  private static long count(DatabaseServer db, String sql) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
