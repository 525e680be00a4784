package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import java.sql.SQLException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The timed faults of the database: restarted, or the workload's table truncated. */
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
