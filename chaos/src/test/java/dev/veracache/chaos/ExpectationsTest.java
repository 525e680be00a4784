package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The verdict: a fault that did not take effect makes a run prove nothing, whatever the strategy showed. */
class ExpectationsTest {

  private static final Scenario SCENARIO = ScenarioCatalog.parse(new ByteArrayInputStream("""
      scenarios:
        - {id: a, title: A, fault: EVICTION_RACE, strategies: [VERSION_FENCE_ONLY, VERACACHE_CACHE_ASIDE],
           expect: {VERSION_FENCE_ONLY: [STALE_READS]}}
      """.getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);

  @Test
  void aCleanVeracacheRunWhoseFaultNeverHappenedIsAViolation() {
    FaultMeasures measures = new FaultMeasures();
    measures.requirePositive("keys evicted");
    measures.add("filler writes", 10);
    Report report = Checker.check("s", new History(), Duration.ofMillis(10), 0, 0)
        .withFaultMeasures(measures.result());

    assertThat(Expectations.violations(SCENARIO, Scenario.Strategy.VERACACHE_CACHE_ASIDE, report))
        .containsExactly("the fault did not take effect: keys evicted stayed 0");
    assertThat(report.cells()).contains("keys evicted 0, filler writes 10");
  }

  @Test
  void aRunWhoseFaultTookEffectIsJudgedOnItsAnomaliesAlone() {
    FaultMeasures measures = new FaultMeasures();
    measures.requirePositive("keys evicted");
    measures.add("keys evicted", 3);
    History history = new History();
    history.write("k", 2, 100_000_000L);
    history.read("k", 1, 500_000_000L, 501_000_000L, 0, History.Level.L2);
    Report report = Checker.check("s", history, Duration.ofMillis(10), 0, 0).withFaultMeasures(measures.result());

    assertThat(Expectations.violations(SCENARIO, Scenario.Strategy.VERSION_FENCE_ONLY, report)).isEmpty();
    assertThat(Expectations.violations(SCENARIO, Scenario.Strategy.VERACACHE_CACHE_ASIDE, report))
        .containsExactly("VERACACHE_CACHE_ASIDE showed STALE_READS");
  }

  @Test
  void staleReadsAreDescribedWithTheirKeysWrites() {
    History history = new History();
    history.read("k", 1, 0, 1_000_000L, 0, History.Level.L1);
    history.write("k", 2, 100_000_000L, true);
    history.read("k", 1, 500_000_000L, 501_000_000L, 1, History.Level.L2);

    assertThat(Checker.describeStaleReads(history, Duration.ofMillis(10), 5)).containsExactly(
        "k read v1 at 500.0-501.0 ms on instance 1 from L2, stale since 100.0 ms; writes: v2(deleted)@100.0");
  }
}
