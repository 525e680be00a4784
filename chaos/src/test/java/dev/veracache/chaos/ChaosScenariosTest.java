package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Short versions of the standard scenarios, with a fixed seed. Each baseline must show the anomaly it is known for
 * (so the checker provably sees staleness), and Veracache must show none: no key stale after quiescence and no read
 * stale beyond W.
 */
@ExtendWith(EmbeddedStackExtension.class)
class ChaosScenariosTest {

  private static final Duration RUN = Duration.ofSeconds(3);
  private static final long SEED = 42;

  @Test
  void r1SlowFillLeavesNaiveAndDoubleDeleteStaleAndVeracacheFresh(EmbeddedStack stack) throws Exception {
    Report naive = ScenarioRunner.run(stack, Scenario.of("R1 naive", Scenario.Strategy.NAIVE,
        Scenario.Fault.SLOW_FILL, RUN, SEED));
    Report doubleDelete = ScenarioRunner.run(stack, Scenario.of("R3 double delete", Scenario.Strategy.DOUBLE_DELETE,
        Scenario.Fault.SLOW_FILL, RUN, SEED));
    Report fenced = ScenarioRunner.run(stack, Scenario.of("R1 Veracache", Scenario.Strategy.VERACACHE_CDC,
        Scenario.Fault.SLOW_FILL, RUN, SEED));
    System.out.println(Report.markdown(java.util.List.of(naive, doubleDelete, fenced)));

    assertThat(naive.reads()).isPositive();
    assertThat(naive.staleReads()).as("naive: stale reads beyond W").isPositive();
    assertThat(doubleDelete.keysStaleAfterQuiescence() + doubleDelete.staleReads())
        .as("double delete: fills slower than its guessed delay land after the second delete").isPositive();
    assertThat(fenced.reads()).isPositive();
    assertThat(fenced.keysStaleAfterQuiescence()).isZero();
    assertThat(fenced.staleReads()).isZero();
  }

  @Test
  void r2DeletesRefusedByAReadOnlyRedisLeaveNaiveStaleAndVeracacheFresh(EmbeddedStack stack) throws Exception {
    Report naive = ScenarioRunner.run(stack, Scenario.of("R2 naive", Scenario.Strategy.NAIVE,
        Scenario.Fault.REDIS_READONLY, RUN, SEED));
    Report fenced = ScenarioRunner.run(stack, Scenario.of("R2 Veracache", Scenario.Strategy.VERACACHE_CDC,
        Scenario.Fault.REDIS_READONLY, RUN, SEED));
    System.out.println(Report.markdown(java.util.List.of(naive, fenced)));

    assertThat(naive.staleReads()).as("naive: refused deletes leave stale reads beyond W").isPositive();
    assertThat(fenced.keysStaleAfterQuiescence()).isZero();
    assertThat(fenced.staleReads()).isZero();
  }

  @Test
  void aPausedRedisKeepsVeracacheAvailableAndWithinW(EmbeddedStack stack) throws Exception {
    Report fenced = ScenarioRunner.run(stack, Scenario.of("paused Veracache", Scenario.Strategy.VERACACHE_CDC,
        Scenario.Fault.REDIS_PAUSE, RUN, SEED));
    System.out.println(Report.markdown(java.util.List.of(fenced)));

    assertThat(fenced.availabilityPercent()).as("reads served while Redis pauses").isGreaterThan(99.0);
    assertThat(fenced.keysStaleAfterQuiescence()).isZero();
    assertThat(fenced.staleReads()).as("no read stale beyond W = 1 s").isZero();
  }
}
