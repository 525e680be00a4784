package dev.veracache.chaos;

import dev.veracache.chaos.check.AppliedVersions;
import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.strategy.StrategyRegistry;
import dev.veracache.chaos.strategy.StrategyRegistry.InstanceFactory;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseReplica;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs strategies of a {@link Scenario} on the embedded stack, each in a table and a cache namespace of its own: a
 * strategy with cache instances as a {@link ScenarioRun} (its phases: prepare, start the workload, run the fault,
 * heal, quiesce, compare, check), a write-behind (heap baseline or Veracache on Kafka) as a {@link WriteBehindRun}.
 */
public final class ScenarioRunner {

  private static final Logger log = LoggerFactory.getLogger(ScenarioRunner.class);
  private static final AtomicInteger RUNS = new AtomicInteger();
  private static final Duration REPLICA_CATCH_UP = Duration.ofSeconds(30);

  private ScenarioRunner() {}

  /** Runs every strategy of the scenario with the seed. */
  public static List<Run> runAll(EmbeddedStack stack, Scenario scenario, long seed) throws Exception {
    List<Run> runs = new ArrayList<>();
    for (Strategy strategy : scenario.strategies()) {
      runs.add(run(stack, scenario, strategy, seed));
    }
    return runs;
  }

  public static Run run(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed) throws Exception {
    return run(stack, scenario, strategy, seed,
        StrategyRegistry.runsCacheInstances(strategy) ? StrategyRegistry.factory(strategy) : null, false, false);
  }

  /**
   * The run with the CDC listener reading the change stream through Kafka (a Kafka Connect worker and the listener's
   * Kafka mode) instead of the binlog; the same workload, fault and checker.
   */
  public static Run runThroughKafka(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed)
      throws Exception {
    if (!strategy.usesCdc) {
      throw new IllegalArgumentException(strategy + " runs no CDC listener: nothing goes through Kafka");
    }
    return run(stack, scenario, strategy, seed, StrategyRegistry.factory(strategy), true, false);
  }

  /**
   * The run with the caches and the CDC listener on the embedded Redis Cluster ({@code EmbeddedStack.redisCluster()})
   * instead of the single Redis; the same workload, fault and checker. Veracache strategies only.
   */
  public static Run runOnCluster(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed)
      throws Exception {
    return run(stack, scenario, strategy, seed, StrategyRegistry.factory(strategy), false, true);
  }

  /**
   * Runs the strategy with instances made by {@code factory}: the chaos tests pass deliberately broken ones, judged as
   * the strategy they stand in for, to prove the verdict can fail.
   */
  static Run run(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed, InstanceFactory factory)
      throws Exception {
    return run(stack, scenario, strategy, seed, factory, false, false);
  }

  private static Run run(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed, InstanceFactory factory,
      boolean throughKafka, boolean onCluster) throws Exception {
    int run = RUNS.incrementAndGet();
    String id = ProcessHandle.current().pid() + "_" + run;
    String label = scenario.race() + " " + scenario.title() + " / " + strategy.label
        + (throughKafka ? ", change stream through Kafka" : "")
        + (onCluster && !scenario.fault().kind().onRedisCluster() ? ", on the Redis Cluster" : "")
        + " (seed " + seed + ")";
    log.info("running {}", label);
    Workload workload = workload(stack, scenario, "chaos_" + id);
    try {
      var report = StrategyRegistry.runsCacheInstances(strategy)
          ? new ScenarioRun(stack, scenario, strategy, workload, "chaos" + id, 7100 + run, label, seed, factory,
              throughKafka, onCluster).run()
          : new WriteBehindRun(stack, scenario, strategy, workload, "chaos" + id, label, seed).run();
      return new Run(scenario, strategy, seed, report);
    } finally {
      dropTables(stack.database(), workload.table);
    }
  }

  /**
   * The run's rows; with a replica to load from (REPLICA_LAG), caught up with them before the run.
   */
  private static Workload workload(EmbeddedStack stack, Scenario scenario, String table) throws SQLException {
    if (!scenario.fault().kind().loadsFromReplica()) {
      return new Workload(stack.database(), table, scenario);
    }
    DatabaseReplica replica = stack.databaseReplica();
    replica.resumeApplying(); // an earlier run that failed may have left it stopped
    Workload workload = new Workload(stack.database(), replica, table, scenario);
    if (!replica.awaitCaughtUp(REPLICA_CATCH_UP)) {
      dropTables(stack.database(), table);
      throw new IllegalStateException(replica + " did not apply the table " + table + " within " + REPLICA_CATCH_UP);
    }
    return workload;
  }

  private static void dropTables(DatabaseServer db, String table) {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_seq, " + AppliedVersions.historyTable(table));
    } catch (SQLException e) {
      log.warn("could not drop {}: {}", table, e.getMessage());
    }
  }
}
