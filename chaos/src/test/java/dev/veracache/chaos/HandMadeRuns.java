package dev.veracache.chaos;

import dev.veracache.chaos.check.Checker;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.History;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * Runs made by hand for the HTML report's tests: reports built by {@link Checker#check} on hand-made {@link History}
 * objects (as {@code ExpectationsTest} does), each one a case the report must show truthfully.
 *
 * <ul>
 *   <li>{@link #RACE} (W 10 ms, no timed fault): the naive baseline shows its stale reads but not the stale keys it is
 *       expected to show; Veracache cache-aside is clean; Veracache write-through left a key stale; Veracache
 *       read-through made no read that could be judged.</li>
 *   <li>{@link #PAUSE} (W 700 ms, Redis paused from 1 s to 3 s of a 5 s run): the naive two-level baseline shows only
 *       the 20 stale keys it is expected to show (and some stale reads in the fault); Veracache cache-aside is clean.</li>
 * </ul>
 */
public final class HandMadeRuns {

  public static final long MS = 1_000_000L;

  public static final Scenario RACE = scenario("""
      - {id: race, race: R1, title: Stale fill, description: Each fill is held until a newer write settled.,
         fault: FILL_RACE, windowMillis: 10,
         strategies: [NAIVE, VERACACHE_CACHE_ASIDE, VERACACHE_WRITE_THROUGH, VERACACHE_READ_THROUGH],
         expect: {NAIVE: [STALE_READS, STALE_KEYS]}}
      """);
  public static final Scenario PAUSE = scenario("""
      - {id: pause, title: Redis paused, description: Redis is SIGSTOPped for the middle of the run.,
         fault: REDIS_PAUSE, seconds: 6, strategies: [NAIVE_TWO_LEVEL, VERACACHE_CACHE_ASIDE],
         expect: {NAIVE_TWO_LEVEL: [STALE_KEYS]}}
      """);

  private HandMadeRuns() {}

  /** The naive baseline of RACE: stale reads in buckets 1, 2 and 4 (expected), no stale key (expected too). */
  public static Run raceNaiveMissingItsStaleKeys() {
    History history = fresh(History.Level.L1);
    for (int t : new int[] {320, 330, 450, 650, 660, 670}) {
      history.read("k", 1, t * MS, t * MS + 1, 0, History.Level.L2); // v2 committed at 100 ms
    }
    return run(RACE, Strategy.NAIVE, check(RACE, history, 0, 0));
  }

  public static Run raceVeracacheClean() {
    return run(RACE, Strategy.VERACACHE_CACHE_ASIDE, check(RACE, fresh(History.Level.L1), 0, 0));
  }

  public static Run raceVeracacheWithAStaleKey() {
    return run(RACE, Strategy.VERACACHE_WRITE_THROUGH, check(RACE, fresh(History.Level.L1), 1, 0));
  }

  /** Read-through whose only read came within W of the only commit: nothing could be judged. */
  public static Run raceVeracacheUnjudgeable() {
    History history = new History();
    history.write("k", 1, 100 * MS);
    history.read("k", 1, 105 * MS, 106 * MS, 0, History.Level.L1);
    return run(RACE, Strategy.VERACACHE_READ_THROUGH, check(RACE, history, 0, 0));
  }

  /** The forgetful baseline of PAUSE: 20 keys stale after quiescence (expected), stale reads late in the fault. */
  public static Run pauseBaselineWithStaleKeys() {
    History history = pausedRun(History.Level.L1);
    for (int t = 2000; t < 2600; t += 20) {
      history.read("k", 10, t * MS, t * MS + 1, 0, History.Level.L1); // v11 committed at 1.1 s
    }
    return run(PAUSE, Strategy.NAIVE_TWO_LEVEL, check(PAUSE, history, 20, 0));
  }

  public static Run pauseVeracacheClean() {
    return run(PAUSE, Strategy.VERACACHE_CACHE_ASIDE, check(PAUSE, pausedRun(History.Level.L1), 0, 0));
  }

  /** Every hand-made run, in the order ChaosMain would list them (scenario by scenario, baselines first). */
  public static List<Run> all() {
    return List.of(raceNaiveMissingItsStaleKeys(), raceVeracacheClean(), raceVeracacheWithAStaleKey(),
        raceVeracacheUnjudgeable(), pauseBaselineWithStaleKeys(), pauseVeracacheClean());
  }

  public static Run run(Scenario scenario, Strategy strategy, Report report) {
    return new Run(scenario, strategy, 42, report);
  }

  public static Report check(Scenario scenario, History history, int staleKeys, int lostWrites) {
    return Checker.check(scenario.id(), history, Duration.ofMillis(scenario.windowMillis()), staleKeys, lostWrites);
  }

  /** k written (v2) at 100 ms, then 100 fresh reads of v2 from {@code level} between 200 and 300 ms. */
  public static History fresh(History.Level level) {
    History history = new History();
    history.write("k", 2, 100 * MS);
    for (int i = 0; i < 100; i++) {
      history.read("k", 2, 200 * MS + i * MS, 200 * MS + i * MS + 1, 0, level);
    }
    return history;
  }

  /** A 5 s run with a fault from 1 s to 3 s: a commit every 100 ms, each read fresh, one read every 10 ms. */
  public static History pausedRun(History.Level level) {
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

  private static Scenario scenario(String yaml) {
    return ScenarioCatalog.parse(new ByteArrayInputStream(("scenarios:\n  " + yaml.replace("\n", "\n  "))
        .getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
  }
}
