package dev.veracache.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.check.AppliedVersions.Applied;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The out-of-order count ({@link AppliedVersions}) on a real MariaDB table: the trigger records what the database
 * applied, so a writer without the version guard that sets a key back to an older version is counted, a guarded one
 * is not, and a rolled-back change leaves nothing.
 */
@ExtendWith(EmbeddedStackExtension.class)
class AppliedVersionsIT {

  @Test
  void anOlderVersionAppliedAfterANewerOneIsOutOfOrderAndAGuardedOneIsNot(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    Workload workload = new Workload(db, "av_order",
        ScenarioCatalog.builtIn().select(List.of("r8-write-behind-crash")).get(0));
    String table = workload.table;
    AppliedVersions.install(db, table);
    try {
      update(db, "UPDATE " + table + " SET version = 20 WHERE k = 'k0' AND version < 20");
      update(db, "UPDATE " + table + " SET version = 10 WHERE k = 'k0' AND version < 10"); // guarded: no change
      update(db, "UPDATE " + table + " SET version = 5 WHERE k = 'k1'");
      assertThat(AppliedVersions.read(db, table)).containsExactly(new Applied("k0", 20), new Applied("k1", 5));
      assertThat(AppliedVersions.outOfOrder(AppliedVersions.read(db, table))).isZero();

      try (Connection c = db.connect()) {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
          s.executeUpdate("UPDATE " + table + " SET version = 1 WHERE k = 'k0'");
        }
        c.rollback();
      }
      assertThat(AppliedVersions.outOfOrder(AppliedVersions.read(db, table))).as("rolled back: not applied")
          .isZero();

      update(db, "UPDATE " + table + " SET version = 15 WHERE k = 'k0'"); // no guard: v15 after v20
      assertThat(AppliedVersions.outOfOrder(AppliedVersions.read(db, table))).isEqualTo(1);
    } finally {
      update(db, "DROP TABLE IF EXISTS " + table + ", " + table + "_seq, " + AppliedVersions.historyTable(table));
    }
  }

  @Test
  void eachChangeBelowTheHighestVersionItsKeyHadCounts() {
    assertThat(AppliedVersions.outOfOrder(List.of(new Applied("a", 1), new Applied("b", 9), new Applied("a", 3),
        new Applied("a", 2), new Applied("b", 10), new Applied("a", 2), new Applied("a", 4)))).isEqualTo(2);
    assertThat(AppliedVersions.outOfOrder(List.of())).isZero();
  }

  private static void update(DatabaseServer db, String sql) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
