package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.strategy.BrokenStrategies;
import dev.veracache.chaos.strategy.StrategyRegistry.InstanceFactory;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The chaos verdict can fail: each deliberately broken Veracache variant ({@link BrokenStrategies}) runs through the
 * real runner, on the real servers, in the built-in scenario that must catch it, judged as the Veracache strategy it
 * stands in for, and the verdict is UNEXPECTED for the reason that variant is broken. If one of these turned green,
 * "every Veracache run clean" would no longer prove what it says.
 */
@ExtendWith(EmbeddedStackExtension.class)
class BrokenStrategiesIT {

  private static final long SEED = 42;

  @Test
  void aCacheWhoseReadsAlwaysFailIsUnexpected(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "r10-negative-cache", BrokenStrategies.alwaysFailingReads());

    assertThat(run.verdict()).startsWith("UNEXPECTED");
    assertThat(run.violations()).anyMatch(v -> v.startsWith("VERACACHE_CACHE_ASIDE answered 0.00% of the reads outside"));
  }

  @Test
  void aPassThroughThatNeverCachesIsUnexpected(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "r10-negative-cache", BrokenStrategies.noCache());

    assertThat(run.report().staleReads()).as("a pass-through is never stale").isZero();
    assertThat(run.violations()).containsExactly("VERACACHE_CACHE_ASIDE answered 0.0% of the reads outside the fault "
        + "from L1 or Redis, below the scenario's 50%");
  }

  @Test
  void aCacheWithoutItsCrossJvmLeaseShowsAHerd(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "r9-thundering-herd", BrokenStrategies.noRedisLease());

    assertThat(run.violations()).contains("VERACACHE_CACHE_ASIDE showed HERD");
  }

  @Test
  void aRaceWhoseHooksNeverFiredProvesNothing(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "r1-stale-fill", BrokenStrategies.hooksNeverFired());

    // The fences still refuse fills that race naturally (two instances, eight readers), so the run's fence refusals
    // are above 0: what proves the race is a hold overtaken and then refused on the held thread.
    assertThat(run.violations()).contains("the fault did not take effect: " + RunContext.HOLDS_OVERTAKEN + " stayed 0",
        "the fault did not take effect: " + RunContext.HELD_WRITES_REFUSED + " stayed 0");
  }

  @Test
  void aClientThatTrustsL1ThroughARedisPauseShowsStaleReads(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "redis-paused", BrokenStrategies.l1TrustedThroughAPause());

    assertThat(run.violations()).contains("VERACACHE_CACHE_ASIDE showed STALE_READS");
  }

  @Test
  void aCacheWhoseReadsFailWhileRedisIsPausedIsUnexpected(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "redis-paused", BrokenStrategies.failsInsteadOfDegrading());

    assertThat(run.report().faultAvailabilityPercent()).as("the broken variant fails in the fault").isLessThan(99);
    assertThat(run.violations()).anyMatch(v -> v.startsWith("VERACACHE_CACHE_ASIDE answered")
        && v.contains("of the reads during the fault"));
  }

  @Test
  void aCacheThatNeverRecoversFromARedisPauseIsUnexpected(EmbeddedStack stack) throws Exception {
    Run run = run(stack, "redis-paused", BrokenStrategies.neverRecoversFromARedisFault());

    assertThat(run.report().cacheHitPercentOutsideFault()).as("its hits before the pause").isGreaterThan(50);
    assertThat(run.violations()).anyMatch(v -> v.startsWith("VERACACHE_CACHE_ASIDE answered")
        && v.endsWith("it did not recover from the fault"));
  }

  private static Run run(EmbeddedStack stack, String scenarioId,
      InstanceFactory broken) throws Exception {
    Scenario scenario = ScenarioCatalog.builtIn().select(List.of(scenarioId)).get(0);
    Run run = ScenarioRunner.run(stack, scenario, Strategy.VERACACHE_CACHE_ASIDE, SEED, broken);
    System.out.println(Run.markdown(List.of(run)));
    return run;
  }
}
