package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The stack's read replica: it applies the primary's commits, lags on demand, and survives its own restart. */
@ExtendWith(EmbeddedStackExtension.class)
class DatabaseReplicaIT {

  private static final Duration CATCH_UP = Duration.ofSeconds(30);

  @Test
  void theReplicaAppliesThePrimarysCommitsAndLagsWhileItsSqlThreadIsStopped(EmbeddedStack stack) throws Exception {
    DatabaseReplica replica = stack.databaseReplica();
    assertThat(stack.databaseReplica()).as("one replica per stack").isSameAs(replica);
    assertThat(replica.primary()).isSameAs(stack.database());
    assertThat(replica.port()).isNotEqualTo(stack.database().port());
    assertThat(variable(replica, "server_id")).isEqualTo("2");
    sql(stack.database(), "CREATE OR REPLACE TABLE replicated (id INT PRIMARY KEY, version BIGINT NOT NULL)");
    sql(stack.database(), "INSERT INTO replicated VALUES (1, 1)");
    assertThat(replica.awaitCaughtUp(CATCH_UP)).isTrue();
    assertThat(version(replica, 1)).isEqualTo(1);

    replica.stopApplying();
    sql(stack.database(), "UPDATE replicated SET version = 2 WHERE id = 1");
    sql(stack.database(), "INSERT INTO replicated VALUES (2, 1)");
    assertThat(replica.awaitCaughtUp(Duration.ofMillis(300))).as("stopped: it cannot catch up").isFalse();
    assertThat(version(replica, 1)).as("the old row").isEqualTo(1);
    assertThat(version(replica, 2)).as("the insert not applied yet").isNull();

    replica.resumeApplying();
    assertThat(replica.awaitCaughtUp(CATCH_UP)).isTrue();
    assertThat(version(replica, 1)).isEqualTo(2);
    assertThat(version(replica, 2)).isEqualTo(1);
  }

  @Test
  void aRestartedReplicaCatchesUpWithWhatItMissedWhileDown(EmbeddedStack stack) throws Exception {
    DatabaseReplica replica = stack.databaseReplica();
    sql(stack.database(), "CREATE OR REPLACE TABLE replicated_restart (id INT PRIMARY KEY, version BIGINT NOT NULL)");
    replica.stop();
    sql(stack.database(), "INSERT INTO replicated_restart VALUES (1, 7)");
    replica.start();
    assertThat(replica.awaitCaughtUp(CATCH_UP)).isTrue();
    try (Connection c = replica.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT version FROM replicated_restart WHERE id = 1")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getLong(1)).isEqualTo(7);
    }
  }

  /**
   * The stack is shared: tables made before the replica started (the CDC listener's marker table, other tests') are
   * changed after it. The replica starts from a dump of the primary, so it has them and replication goes on. A stack
   * of its own, so that the replica starts here, after the table.
   */
  @Test
  void aTableMadeBeforeTheReplicaStartedIsOnItAndItsChangesReplicate() throws Exception {
    try (EmbeddedStack own = EmbeddedStack.start(StackConfig.embedded())) {
      sql(own.database(), "CREATE TABLE made_before (id INT PRIMARY KEY, v INT NOT NULL)");
      sql(own.database(), "INSERT INTO made_before VALUES (1, 1), (2, 1)");
      DatabaseReplica replica = own.databaseReplica();
      sql(own.database(), "UPDATE made_before SET v = 2 WHERE id = 1");
      sql(own.database(), "DELETE FROM made_before WHERE id = 2");
      sql(own.database(), "INSERT INTO made_before VALUES (3, 1)");
      assertThat(replica.awaitCaughtUp(CATCH_UP)).as("replication went on past the older table").isTrue();
      try (Connection c = replica.connect(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT id, v FROM made_before ORDER BY id")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getInt(1)).isEqualTo(1);
        assertThat(rs.getInt(2)).isEqualTo(2);
        assertThat(rs.next()).isTrue();
        assertThat(rs.getInt(1)).isEqualTo(3);
        assertThat(rs.next()).isFalse();
      }
    }
  }

  private static void sql(DatabaseServer db, String statement) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  private static Long version(DatabaseServer db, int id) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT version FROM replicated WHERE id = " + id)) {
      return rs.next() ? rs.getLong(1) : null;
    }
  }

  private static String variable(DatabaseServer db, String name) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT @@GLOBAL." + name)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
