package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The short version of every scenario of the built-in catalogue, every strategy, for a fixed set of seeds: each
 * baseline must show the anomaly it is known for (so the checker provably sees it), and every Veracache strategy must
 * show none: no read stale beyond W, no key stale after quiescence, no lost write, no herd. Race injections are
 * latch-based (see {@link WriteSignals}), so the baselines' anomalies do not depend on luck. Full-length runs are the
 * CLI's job.
 */
@ExtendWith(EmbeddedStackExtension.class)
class ChaosScenariosTest {

  private static final List<Long> SEEDS = List.of(42L, 7L);
  private static final int SECONDS = 3;

  @TestFactory
  Stream<DynamicTest> everyScenarioEveryStrategy(EmbeddedStack stack) {
    List<DynamicTest> tests = new ArrayList<>();
    for (Scenario scenario : ScenarioCatalog.builtIn().scenarios()) {
      Scenario shortRun = scenario.withSeconds(SECONDS);
      for (Scenario.Strategy strategy : scenario.strategies()) {
        for (long seed : SEEDS) {
          tests.add(DynamicTest.dynamicTest(scenario.id() + " / " + strategy + " / seed " + seed, () -> {
            ScenarioRunner.Run run = ScenarioRunner.run(stack, shortRun, strategy, seed);
            System.out.println(Report.markdownOfRuns(List.of(run)));
            Report report = run.report();
            if (strategy == Scenario.Strategy.HEAP_WRITE_BEHIND) {
              assertThat(report.writes()).as("acknowledged writes").isPositive();
            } else {
              assertThat(report.reads()).as("reads").isPositive();
              assertThat(report.writes()).as("writes").isPositive();
            }
            assertThat(run.violations()).as(run.verdict()).isEmpty();
          }));
        }
      }
    }
    return tests.stream();
  }
}
