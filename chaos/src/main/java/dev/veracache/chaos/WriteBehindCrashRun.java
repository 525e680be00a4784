package dev.veracache.chaos;

import dev.veracache.chaos.check.Checker;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.fault.HeapWriteBehindProcess;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/**
 * R8, the run of the HEAP_WRITE_BEHIND strategy (the PROCESS_KILL fault): a heap-queue write-behind in its own JVM
 * acknowledges writes at the scenario's rate and is killed (SIGKILL) two thirds into the run; every acknowledged write
 * whose version the database does not have is lost.
 */
final class WriteBehindCrashRun {

  private static final int WRITE_BEHIND_FLUSH_MILLIS = 500;

  private final EmbeddedStack stack;
  private final Scenario scenario;
  private final Workload workload;
  private final String label;
  private final long seed;

  WriteBehindCrashRun(EmbeddedStack stack, Scenario scenario, Workload workload, String label, long seed) {
    this.stack = stack;
    this.scenario = scenario;
    this.workload = workload;
    this.label = label;
    this.seed = seed;
  }

  Report run() throws Exception {
    History history = new History();
    DatabaseServer db = stack.database();
    List<HeapWriteBehindProcess.Ack> acks;
    try (HeapWriteBehindProcess process = HeapWriteBehindProcess.start(new HeapWriteBehindProcess.Spec(
        db.jdbcUrl(), db.user(), db.password(), workload.table, scenario.workload().keys(),
        scenario.workload().writesPerSecond(), WRITE_BEHIND_FLUSH_MILLIS, seed), Duration.ofSeconds(60))) {
      Thread.sleep(scenario.seconds() * 2000L / 3);
      history.faultStarted();
      process.kill();
      history.faultEnded();
      acks = process.acks();
    }
    for (HeapWriteBehindProcess.Ack ack : acks) {
      history.write(ack.key(), ack.version(), ack.ackNanos());
    }
    List<HeapWriteBehindProcess.Ack> lost = HeapWriteBehindProcess.lostWrites(acks, key -> {
      try {
        return workload.load(key);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the committed version of " + key + ": " + e.getMessage(), e);
      }
    });
    return Checker.check(label, history, Duration.ofMillis(scenario.windowMillis()), 0, lost.size());
  }
}
