package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.stack.DatabaseReplica;
import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The timed faults of the database: restarted, the workload's table truncated, or the replica loads read lagging. */
final class DatabaseFaults {

  private static final Logger log = LoggerFactory.getLogger(DatabaseFaults.class);

  private DatabaseFaults() {}

  /** DB_RESTART: the database is stopped and started again; the CDC listener is made live again after it. */
  static final class Restart implements Fault {
    @Override
    public void inject(FaultTarget target) {
      target.stack().database().stop();
    }

    @Override
    public void end(FaultTarget target) {
      target.stack().database().start();
      if (target.listener() != null) {
        target.listener().ensureLive();
      }
    }
  }

  /**
   * REPLICA_LAG: the replica every load reads stops applying the primary's commits for the fault's span, then catches
   * up before the fault ends. Counted: the primary's transactions the replica had not applied when the lag ended.
   */
  static final class ReplicaLag implements Fault {
    static final String BEHIND = "transactions the replica lagged";
    private static final java.time.Duration CATCH_UP = java.time.Duration.ofSeconds(30);

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      return List.of(BEHIND);
    }

    @Override
    public void inject(FaultTarget target) {
      target.stack().databaseReplica().stopApplying();
    }

    @Override
    public void end(FaultTarget target) throws SQLException {
      DatabaseReplica replica = target.stack().databaseReplica();
      target.context().measures.add(BEHIND, sequence(replica.primary(), "@@GLOBAL.gtid_binlog_pos")
          - sequence(replica, "@@GLOBAL.gtid_slave_pos"));
      replica.resumeApplying();
      if (!replica.awaitCaughtUp(CATCH_UP)) {
        throw new IllegalStateException(replica + " did not catch up within " + CATCH_UP);
      }
    }

    @Override
    public void heal(FaultTarget target) {
      try {
        target.stack().databaseReplica().resumeApplying();
      } catch (RuntimeException e) {
        log.warn("could not resume the replica: {}", e.getMessage());
      }
    }

    /** The sequence number of a single-domain GTID position ({@code 0-1-42}: 42), 0 for none. */
    private static long sequence(DatabaseServer db, String variable) throws SQLException {
      try (Connection c = db.connect(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT " + variable)) {
        rs.next();
        String position = rs.getString(1);
        if (position == null || position.isEmpty()) {
          return 0;
        }
        return Long.parseLong(position.substring(position.lastIndexOf('-') + 1));
      }
    }
  }

  /**
   * TRUNCATE (R16): {@code TRUNCATE TABLE} of the workload's table when the fault starts; every row counts as deleted
   * at a version of its own (see {@code Workload.truncate}), and nobody is told; later writes insert the rows again.
   */
  static final class Truncate implements Fault {
    static final String TRUNCATES = "tables truncated";

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      return List.of(TRUNCATES);
    }

    @Override
    public void inject(FaultTarget target) throws SQLException {
      RunContext context = target.context();
      long started = System.nanoTime();
      List<History.Write> deletes = context.workload.truncate();
      for (History.Write delete : deletes) {
        context.history.write(delete.key(), delete.version(), delete.sentNanos(), delete.commitNanos(), true);
        context.signals.committed(delete.key(), delete.version(), delete.commitNanos());
        context.signals.settled(delete.key(), delete.version(), true); // no post-write step: nobody is told
      }
      context.measures.increment(TRUNCATES);
      context.measures.add("truncate ms", (System.nanoTime() - started) / 1_000_000);
      log.info("truncated {} ({} cache keys now deleted)", context.workload.table, deletes.size());
    }

    // end: nothing, one TRUNCATE; the writers insert the rows again
  }
}
