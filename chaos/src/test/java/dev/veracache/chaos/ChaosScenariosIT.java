package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.check.Expectations;
import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.WriteSignals;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every scenario of the built-in catalogue, every strategy, at the scenario's own duration (long enough for W to judge
 * its fault; the catalogue refuses one that is not), for a set of seeds: each baseline must show the anomaly it is
 * known for (so the checker provably sees it), every Veracache strategy must show none (no read stale beyond W, no key
 * stale after quiescence, no lost write, no herd) and be a cache that answers (availability and cache hits outside the
 * fault), and every run must prove something (its fault measures above 0, reads judgeable): see
 * {@link Expectations}. Race injections are latch-based (see {@link WriteSignals}), so the baselines' anomalies do not
 * depend on luck. {@code BrokenStrategiesIT} proves that this verdict turns red for broken Veracache variants.
 *
 * <p>Seeds: {@code -Dchaos.seeds=42,7} (the {@code chaos-full} Maven profile) runs each with both; CI runs seed 42, to
 * stay within its time budget. {@code -Dchaos.scenarios=id,id} runs only those scenarios,
 * {@code -Dchaos.strategies=NAME,NAME} only those strategies. Without {@code -Dchaos.scenarios}, the runs of
 * {@link MainJobProcessIT#SCENARIO} at seed {@link MainJobProcessIT#SEED} are left to that test, which runs them through
 * the chaos command in a JVM of its own and fails unless every verdict is as expected (the suite's time budget),
 * read-through runs only in {@link #READ_THROUGH_SCENARIO}, and the baselines of {@link #BASELINES_SHOWN_ELSEWHERE} are
 * left to the run named there.
 */
@ExtendWith(EmbeddedStackExtension.class)
class ChaosScenariosIT {

  /**
   * The one scenario where CI runs {@code VERACACHE_READ_THROUGH} (the chaos command and {@code -Dchaos.strategies} run it
   * everywhere): it reads through the same {@code TieredCache.get} as cache-aside, which runs in every scenario.
   */
  static final String READ_THROUGH_SCENARIO = "r1-stale-fill";

  /** The seed of the runs named in {@link #BASELINES_SHOWN_ELSEWHERE}: other seeds run those baselines. */
  static final long SHOWN_ELSEWHERE_SEED = 42;

  /**
   * Baseline runs CI leaves out at seed {@value #SHOWN_ELSEWHERE_SEED} (the chaos command, {@code -Dchaos.scenarios} and
   * {@code -Dchaos.strategies} run them): in these scenarios the point is Veracache's verdict, and the baseline's
   * anomaly is shown by another run of the suite, on the same mechanism, named here (the suite's time budget: each is a
   * 6 s run).
   */
  static final Map<String, String> BASELINES_SHOWN_ELSEWHERE = Map.of(
      "r6-listener-lag / " + Scenario.Strategy.CDC_ONLY_UNBOUNDED,
      "r18-listener-stall's CDC_ONLY_UNBOUNDED: the same CDC-only clients without the bound, the same listener JVM "
          + "SIGSTOPped (LISTENER_PAUSE), STALE_READS",
      "redis-paused / " + Scenario.Strategy.NAIVE_TWO_LEVEL,
      "BrokenStrategiesIT.aClientThatTrustsL1ThroughARedisPauseShowsStaleReads: the same scenario and seed, L1 "
          + "trusted while the invalidations are lost in the pause, STALE_READS");

  @TestFactory
  Stream<DynamicTest> everyScenarioEveryStrategy(EmbeddedStack stack) {
    List<DynamicTest> tests = new ArrayList<>();
    String only = System.getProperty("chaos.scenarios", "").trim();
    Set<String> strategies = names(System.getProperty("chaos.strategies", ""));
    List<Long> seeds = names(System.getProperty("chaos.seeds", "42")).stream().map(Long::parseLong).sorted().toList();
    ScenarioCatalog catalog = ScenarioCatalog.builtIn();
    List<Scenario> scenarios = only.isEmpty() ? catalog.scenarios() : catalog.select(List.of(only.split(",")));
    Set<String> catalogueRuns = catalog.scenarios().stream()
        .flatMap(scenario -> scenario.strategies().stream().map(strategy -> scenario.id() + " / " + strategy))
        .collect(Collectors.toSet());
    assertThat(catalogueRuns).as("the runs left to others name runs of the catalogue")
        .containsAll(BASELINES_SHOWN_ELSEWHERE.keySet());
    for (Scenario scenario : scenarios) {
      for (Scenario.Strategy strategy : scenario.strategies()) {
        if (!strategies.isEmpty() && !strategies.contains(strategy.name())) {
          continue;
        }
        if (strategies.isEmpty() && only.isEmpty() && strategy == Scenario.Strategy.VERACACHE_READ_THROUGH
            && !scenario.id().equals(READ_THROUGH_SCENARIO)) {
          continue; // read-through is cache-aside's read path with the loader owned: one scenario here (time budget)
        }
        for (long seed : seeds) {
          if (strategies.isEmpty() && only.isEmpty() && seed == SHOWN_ELSEWHERE_SEED
              && BASELINES_SHOWN_ELSEWHERE.containsKey(scenario.id() + " / " + strategy)) {
            continue; // its anomaly, on the same mechanism, is shown by the run named there (time budget)
          }
          if (only.isEmpty() && scenario.fault().kind().onRedisCluster()) {
            continue; // ClusterChaosIT runs it, after this class (the "whole runs" JVM)
          }
          if (only.isEmpty() && scenario.id().equals(MainJobProcessIT.SCENARIO) && seed == MainJobProcessIT.SEED) {
            continue; // the same runs, with the same verdict checks, in the chaos command's own JVM (time budget)
          }
          tests.add(DynamicTest.dynamicTest(scenario.id() + " / " + strategy + " / seed " + seed, () -> {
            Run run = ScenarioRunner.run(stack, scenario, strategy, seed);
            System.out.println(Run.markdown(List.of(run)));
            assertThat(run.report().writes()).as("acknowledged writes").isPositive();
            assertThat(run.violations()).as(run.verdict()).isEmpty();
          }));
        }
      }
    }
    return tests.stream();
  }

  private static Set<String> names(String commaSeparated) {
    return Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(name -> !name.isEmpty())
        .collect(Collectors.toSet());
  }
}
