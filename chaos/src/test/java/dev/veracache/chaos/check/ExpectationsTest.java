package dev.veracache.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The verdict on hand-made reports: every anomaly turns a Veracache run red and a baseline missing its anomaly too; a
 * cache that fails its reads or never caches is red; a run that cannot judge (no proving measure, W wider than what
 * it could see) is red whatever it showed. A bug here that returned no violation would turn every chaos verdict
 * green, so each rule has a case on each side of its boundary.
 */
class ExpectationsTest {

  private static final long MS = 1_000_000L;

  private static final Scenario RACE = scenario("""
      - {id: a, title: A, fault: FILL_RACE, windowMillis: 10, strategies: [VERSION_FENCE_ONLY, VERACACHE_CACHE_ASIDE],
         expect: {VERSION_FENCE_ONLY: [STALE_READS]}}
      """);
  private static final Scenario HERD = scenario("""
      - {id: h, title: H, fault: NONE, windowMillis: 10, herdThreshold: 4, strategies: [NAIVE, VERACACHE_CACHE_ASIDE],
         expect: {NAIVE: [HERD]}}
      """);
  private static final Scenario PAUSE = scenario("""
      - {id: p, title: P, fault: REDIS_PAUSE, seconds: 6, strategies: [NAIVE_TWO_LEVEL, VERACACHE_CACHE_ASIDE],
         expect: {NAIVE_TWO_LEVEL: [STALE_READS]}}
      """);

  private static final Scenario WRITE_BEHIND = scenario("""
      - {id: w, title: W, fault: PROCESS_KILL, strategies: [HEAP_WRITE_BEHIND, VERACACHE_WRITE_BEHIND],
         expect: {HEAP_WRITE_BEHIND: [LOST_WRITES]}}
      """);

  @Test
  void aWriteBehindIsJudgedOnLostAndOutOfOrderWritesNotOnReads() {
    History writesOnly = new History();
    writesOnly.write("k0", 1_700_000_000_000_000L, 10 * MS);
    writesOnly.write("k0", 1_700_000_000_000_100L, 20 * MS);
    Report clean = check(WRITE_BEHIND, writesOnly, 0, 0);

    assertThat(Expectations.violations(WRITE_BEHIND, Strategy.VERACACHE_WRITE_BEHIND, clean))
        .as("a write-behind makes no reads").isEmpty();
    assertThat(Expectations.violations(WRITE_BEHIND, Strategy.VERACACHE_WRITE_BEHIND, clean.withOutOfOrderWrites(1)))
        .containsExactly("VERACACHE_WRITE_BEHIND showed OUT_OF_ORDER");
    assertThat(Expectations.violations(WRITE_BEHIND, Strategy.VERACACHE_WRITE_BEHIND,
        check(WRITE_BEHIND, writesOnly, 0, 1))).containsExactly("VERACACHE_WRITE_BEHIND showed LOST_WRITES");
    assertThat(Expectations.violations(WRITE_BEHIND, Strategy.HEAP_WRITE_BEHIND, clean))
        .containsExactly("HEAP_WRITE_BEHIND was expected to show LOST_WRITES and did not");
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, check(RACE, writesOnly, 0, 0)))
        .as("a cache strategy without reads is still refused").contains("VERACACHE_CACHE_ASIDE made no read");
    assertThat(clean.withOutOfOrderWrites(3).cells().get(Report.COLUMNS.indexOf("out-of-order writes")))
        .isEqualTo("3");
  }

  @Test
  void aCleanVeracacheRunWhoseFaultNeverHappenedIsAViolation() {
    FaultMeasures measures = new FaultMeasures();
    measures.requirePositive("keys evicted");
    measures.add("filler writes", 10);
    Report report = check(RACE, fresh(History.Level.L1), 0, 0).withFaultMeasures(measures.result());

    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, report))
        .containsExactly("the fault did not take effect: keys evicted stayed 0");
    assertThat(report.cells()).contains("keys evicted 0, filler writes 10");
  }

  @Test
  void oneStaleReadTurnsVeracacheRedAndSatisfiesTheBaselineThatExpectsIt() {
    History history = fresh(History.Level.L1);
    history.read("k", 1, 500 * MS, 501 * MS, 0, History.Level.L2); // v2 committed at 100 ms, W = 10 ms

    Report report = check(RACE, history, 0, 0);

    assertThat(report.staleReads()).isOne();
    assertThat(Expectations.violations(RACE, Strategy.VERSION_FENCE_ONLY, report)).isEmpty();
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, report))
        .containsExactly("VERACACHE_CACHE_ASIDE showed STALE_READS");
  }

  @Test
  void oneStaleKeyOrOneLostWriteTurnsVeracacheRed() {
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, check(RACE, fresh(History.Level.L1), 1, 0)))
        .containsExactly("VERACACHE_CACHE_ASIDE showed STALE_KEYS");
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, check(RACE, fresh(History.Level.L1), 0, 1)))
        .containsExactly("VERACACHE_CACHE_ASIDE showed LOST_WRITES");
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, check(RACE, fresh(History.Level.L1), 0, 0)))
        .isEmpty();
  }

  @Test
  void aBaselineExpectedToReadStaleMayShowItsStalenessAsAKeyStillStaleAfterQuiescence() {
    // R3 at seed 42 once: the race hit a key's last write after the last read W could judge; quiescence saw it.
    assertThat(Expectations.violations(RACE, Strategy.VERSION_FENCE_ONLY, check(RACE, fresh(History.Level.L1), 1, 0)))
        .isEmpty();
  }

  @Test
  void aBaselineThatMissesItsAnomalyIsAViolation() {
    assertThat(Expectations.violations(RACE, Strategy.VERSION_FENCE_ONLY, check(RACE, fresh(History.Level.L1), 0, 0)))
        .containsExactly("VERSION_FENCE_ONLY was expected to show STALE_READS and did not");
  }

  @Test
  void aHerdStartsAtTheThresholdOfConcurrentLoadsOfOneKey() {
    History three = loads(3);
    History four = loads(4);

    assertThat(Expectations.violations(HERD, Strategy.VERACACHE_CACHE_ASIDE, check(HERD, three, 0, 0))).isEmpty();
    assertThat(Expectations.violations(HERD, Strategy.NAIVE, check(HERD, three, 0, 0)))
        .containsExactly("NAIVE was expected to show HERD and did not");
    assertThat(Expectations.violations(HERD, Strategy.VERACACHE_CACHE_ASIDE, check(HERD, four, 0, 0)))
        .containsExactly("VERACACHE_CACHE_ASIDE showed HERD");
    assertThat(Expectations.violations(HERD, Strategy.NAIVE, check(HERD, four, 0, 0))).isEmpty();
  }

  @Test
  void aPeakAtTheThresholdIsNoHerdWhenTheRunLoadedLessThanThreeTimesPerWrite() {
    History history = loads(4); // a peak of 4 at the threshold, 4 loads, 1 write: a herd
    assertThat(Expectations.violations(HERD, Strategy.VERACACHE_CACHE_ASIDE, check(HERD, history, 0, 0)))
        .containsExactly("VERACACHE_CACHE_ASIDE showed HERD");
    history.write("k", 3, 400 * MS); // after the reads: 4 loads for 2 writes: one per invalidation, overlapping on a slow machine
    assertThat(Expectations.violations(HERD, Strategy.VERACACHE_CACHE_ASIDE, check(HERD, history, 0, 0))).isEmpty();
  }

  @Test
  void aVeracacheThatFailsItsReadsOutsideTheFaultIsRed() {
    History history = fresh(History.Level.L1);
    for (int i = 0; i < 2; i++) {
      history.read("k", History.NOT_FOUND, (300 + i) * MS, (301 + i) * MS, 0, History.Level.FAILED);
    }

    Report report = check(RACE, history, 0, 0); // 100 of 102 reads answered

    assertThat(report.availabilityOutsideFaultPercent()).isEqualTo(100.0 * 100 / 102);
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, report))
        .containsExactly("VERACACHE_CACHE_ASIDE answered 98.04% of the reads outside the fault, below 99%");
    assertThat(Expectations.violations(RACE, Strategy.VERSION_FENCE_ONLY, report))
        .as("baselines are not judged on availability").doesNotContain(
            "VERSION_FENCE_ONLY answered 98.04% of the reads outside the fault, below 99%");
  }

  @Test
  void readsThatFailDuringTheRecoveryAfterTheFaultDoNotCountAgainstAvailability() {
    History history = pausedRun(History.Level.L1);
    for (int i = 0; i < 50; i++) { // inside (3000 ms, 3000 ms + W]: the recovery
      history.read("k", History.NOT_FOUND, (3001 + 10 * i) * MS, (3002 + 10 * i) * MS, 0, History.Level.FAILED);
    }

    Report report = check(PAUSE, history, 0, 0);

    assertThat(report.availabilityOutsideFaultPercent()).isEqualTo(100.0);
    assertThat(report.faultAvailabilityPercent()).isEqualTo(100.0);
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, report)).isEmpty();
  }

  @Test
  void aVeracacheThatFailsItsReadsDuringARedisFaultIsRed() {
    History history = pausedRun(History.Level.L1); // 201 reads start in [1000 ms, 3000 ms]
    for (int i = 0; i < 2; i++) { // 201 of 203 answered: 99.01%, at the floor
      history.read("k", History.NOT_FOUND, (1001 + 10 * i) * MS, (1002 + 10 * i) * MS, 0, History.Level.FAILED);
    }
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, check(PAUSE, history, 0, 0))).isEmpty();
    history.read("k", History.NOT_FOUND, 1500 * MS, 1501 * MS, 0, History.Level.FAILED); // 201 of 204: 98.53%

    Report report = check(PAUSE, history, 0, 0);

    assertThat(report.availabilityOutsideFaultPercent()).as("outside the fault all answered").isEqualTo(100.0);
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, report)).containsExactly(
        "VERACACHE_CACHE_ASIDE answered 98.53% of the reads during the fault, below the scenario's 99%: a Redis or "
            + "listener fault must degrade reads to the database, not fail them");
    assertThat(Expectations.violations(PAUSE, Strategy.NAIVE_TWO_LEVEL, report))
        .as("baselines are not judged on availability").noneMatch(v -> v.contains("during the fault, below"));
  }

  @Test
  void aVeracacheThatNeverRecoversFromTheFaultIsRedThoughItsHitsBeforeItOutnumberItsMisses() {
    History history = new History();
    for (int v = 1; v <= 50; v++) {
      history.write("k", v, v * 100L * MS);
    }
    for (int t = 0; t < 5000; t += 10) { // from L1 before the fault, from the database ever after
      long version = Math.max(1, Math.min(50, t / 100));
      history.read("k", version, t * MS, t * MS + 1, 0, t < 1900 ? History.Level.L1 : History.Level.DATABASE);
    }
    history.faultWindow(1900 * MS, 3400 * MS); // W = 700 ms: the recovery ends at 4100 ms

    Report report = check(PAUSE, history, 0, 0);

    assertThat(report.cacheHitPercentOutsideFault()).as("190 hits before, 89 misses after").isGreaterThan(50);
    assertThat(report.readsAfterFault()).isEqualTo(89);
    assertThat(report.cacheHitPercentAfterFault()).isZero();
    assertThat(report.cells().get(Report.COLUMNS.indexOf("cache hits % outside fault (after it)")))
        .isEqualTo("68.1 (0.0)");
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, report)).containsExactly(
        "VERACACHE_CACHE_ASIDE answered 0.0% of the reads after the fault and its recovery from L1 or Redis, below "
            + "the scenario's 50%: it did not recover from the fault");
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, check(PAUSE, pausedRun(
        History.Level.L1), 0, 0))).as("a cache that recovered").isEmpty();
  }

  @Test
  void aVeracacheThatAlwaysGoesToTheDatabaseIsRed() {
    Report report = check(RACE, fresh(History.Level.DATABASE), 0, 0);

    assertThat(report.cacheHitPercentOutsideFault()).isZero();
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, report)).containsExactly(
        "VERACACHE_CACHE_ASIDE answered 0.0% of the reads outside the fault from L1 or Redis, below the scenario's 50%");
  }

  @Test
  void aRunWhereNoReadCouldBeJudgedIsRedAndSaysSo() {
    History history = new History();
    history.write("k", 1, 100 * MS);
    history.read("k", 1, 105 * MS, 106 * MS, 0, History.Level.L1); // within W of the only commit

    Report report = check(RACE, history, 0, 0);

    assertThat(report.stalenessJudgeable()).isFalse();
    assertThat(report.cells()).contains("n/a: no read judgeable (W too wide for the run)");
    assertThat(report.cells().subList(5, 7)).as("stale %% and staleness percentiles: not a 0 that means nothing")
        .containsExactly("n/a", "n/a");
    assertThat(Expectations.violations(RACE, Strategy.VERACACHE_CACHE_ASIDE, report)).containsExactly(
        "no read could be judged: none had a commit of its key more than W (10 ms) before it");
  }

  @Test
  void aTimedFaultShorterThanWIsNotJudgeableAndSaysSo() {
    History history = pausedRun(History.Level.L1);
    history.faultWindow(1000 * MS, 1500 * MS); // 500 ms: shorter than W = 700 ms

    Report report = check(PAUSE, history, 0, 0);

    assertThat(report.faultJudgeable()).isFalse();
    assertThat(report.cells().get(4)).endsWith("; fault not judgeable (W >= the fault))");
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, report)).containsExactly(
        "no read during the fault could be judged against a commit made in it: W (700 ms) is not shorter than the "
            + "fault");
    history.faultWindow(1000 * MS, 3000 * MS);
    assertThat(Expectations.violations(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, check(PAUSE, history, 0, 0))).isEmpty();
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

  /** k written (v2) at 100 ms, then 100 fresh reads of v2 from {@code level} between 200 and 300 ms. */
  private static History fresh(History.Level level) {
    History history = new History();
    history.write("k", 2, 100 * MS);
    for (int i = 0; i < 100; i++) {
      history.read("k", 2, 200 * MS + i * MS, 200 * MS + i * MS + 1, 0, level);
    }
    return history;
  }

  /** A 5 s run with a fault from 1 s to 3 s: a commit every 100 ms, each read fresh, one read every 10 ms. */
  private static History pausedRun(History.Level level) {
    History history = new History();
    for (int v = 1; v <= 50; v++) {
      history.write("k", v, v * 100L * MS);
    }
    for (int t = 0; t < 5000; t += 10) {
      long version = Math.max(1, Math.min(50, t / 100));
      history.read("k", version, t * MS, t * MS + 1, 0, level);
    }
    history.faultWindow(1000 * MS, 3000 * MS);
    return history;
  }

  /** {@code concurrent} loads of one key at once, and fresh reads. */
  private static History loads(int concurrent) {
    History history = fresh(History.Level.L1);
    for (int i = 0; i < concurrent; i++) {
      history.load("k", (150 + i) * MS, 180 * MS);
    }
    return history;
  }

  private static Report check(Scenario scenario, History history, int staleKeys, int lostWrites) {
    return Checker.check("s", history, Duration.ofMillis(scenario.windowMillis()), staleKeys, lostWrites);
  }

  private static Scenario scenario(String yaml) {
    return ScenarioCatalog.parse(new ByteArrayInputStream(("scenarios:\n  " + yaml.replace("\n", "\n  "))
        .getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
  }
}
