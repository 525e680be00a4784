package dev.veracache.chaos.check;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Anomaly;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The verdict on one run: a baseline must show every anomaly its scenario expects of it (so the checker provably sees
 * it), and a Veracache strategy must show none: no stale read beyond W, no key stale after quiescence, no lost write,
 * no write applied out of order, and no herd where the scenario measures herds. A Veracache strategy must also have been a cache that answers:
 * outside the fault and its recovery (W after it), at least {@value #MIN_AVAILABILITY_OUTSIDE_FAULT}% of its reads
 * answered and at least the scenario's {@code minCacheHitPercent} of the answers from L1 or Redis, that share also
 * after the fault's recovery alone (a cache that never recovered would hide behind its hits before the fault), and
 * during a timed fault at least the scenario's {@code minAvailabilityInFaultPercent} of the reads answered (the
 * contract's "basically available": a Redis fault degrades reads to the database). Either way the run
 * must be able to prove something: its proving fault measures above 0 (no key evicted, no hold overtaken, no fence
 * refusal... proves nothing), and, where readers ran, some read judgeable, and a timed fault with reads judgeable
 * inside it.
 */
public final class Expectations {

  /** The least share of reads a Veracache strategy answers outside the fault window and its recovery, in percent. */
  public static final double MIN_AVAILABILITY_OUTSIDE_FAULT = 99.0;

  private Expectations() {}

  /** The anomalies the report shows. */
  public static Set<Anomaly> shown(Scenario scenario, Report report) {
    Set<Anomaly> shown = EnumSet.noneOf(Anomaly.class);
    if (report.staleReads() > 0) {
      shown.add(Anomaly.STALE_READS);
    }
    if (report.keysStaleAfterQuiescence() > 0) {
      shown.add(Anomaly.STALE_KEYS);
    }
    if (report.lostWrites() > 0) {
      shown.add(Anomaly.LOST_WRITES);
    }
    if (report.outOfOrderWrites() > 0) {
      shown.add(Anomaly.OUT_OF_ORDER);
    }
    if (isHerd(scenario, report)) {
      shown.add(Anomaly.HERD);
    }
    return shown;
  }

  /**
   * More loads per write than a working cross-JVM lease allows, when a herd is measured: a herd is
   * {@code herdThreshold} or more concurrent loads of one key <b>and</b> at least {@value #HERD_LOADS_PER_WRITE} loads
   * per write over the run. A lease allows one load per invalidation, and each write is invalidated twice where the
   * application and the CDC listener both invalidate (each cancels the lease of a load that may predate it): about 2.
   * A peak alone is a moment: on a loaded machine a few legitimate loads (one per invalidation, each slow) can overlap.
   */
  static boolean isHerd(Scenario scenario, Report report) {
    return scenario.herdThreshold() > 0 && report.peakConcurrentLoads() >= scenario.herdThreshold()
        && report.loads() >= HERD_LOADS_PER_WRITE * Math.max(1, report.writes());
  }

  /** Loads per write from which a run with a peak at the herd threshold is a herd (see {@link #isHerd}). */
  public static final int HERD_LOADS_PER_WRITE = 3;

  /** What is wrong with the run, empty when it is as expected. */
  public static List<String> violations(Scenario scenario, Strategy strategy, Report report) {
    Set<Anomaly> shown = shown(scenario, report);
    List<String> violations = new ArrayList<>();
    for (String measure : report.faultMeasures().ineffective()) {
      violations.add("the fault did not take effect: " + measure + " stayed 0");
    }
    if (report.reads() > 0 && !report.stalenessJudgeable()) {
      violations.add("no read could be judged: none had a commit of its key more than W ("
          + scenario.windowMillis() + " ms) before it");
    } else if (report.reads() > 0 && !report.faultJudgeable()) {
      violations.add("no read during the fault could be judged against a commit made in it: W ("
          + scenario.windowMillis() + " ms) is not shorter than the fault");
    }
    if (!strategy.baseline) {
      if (report.reads() == 0 && !strategy.writeBehind()) { // a write-behind run only writes
        violations.add(strategy + " made no read");
      } else if (report.readsOutsideFault() > 0) {
        if (report.availabilityOutsideFaultPercent() < MIN_AVAILABILITY_OUTSIDE_FAULT) {
          violations.add(String.format(Locale.ROOT, "%s answered %.2f%% of the reads outside the fault, below %.0f%%",
              strategy, report.availabilityOutsideFaultPercent(), MIN_AVAILABILITY_OUTSIDE_FAULT));
        }
        if (report.cacheHitPercentOutsideFault() < scenario.minCacheHitPercent()) {
          violations.add(String.format(Locale.ROOT, "%s answered %.1f%% of the reads outside the fault from L1 or "
              + "Redis, below the scenario's %d%%", strategy, report.cacheHitPercentOutsideFault(),
              scenario.minCacheHitPercent()));
        }
      }
      if (report.readsAfterFault() > 0 && report.cacheHitPercentAfterFault() < scenario.minCacheHitPercent()) {
        violations.add(String.format(Locale.ROOT, "%s answered %.1f%% of the reads after the fault and its recovery "
            + "from L1 or Redis, below the scenario's %d%%: it did not recover from the fault", strategy,
            report.cacheHitPercentAfterFault(), scenario.minCacheHitPercent()));
      }
      if (report.reads() > 0 && report.timedFault()
          && report.faultAvailabilityPercent() < scenario.minAvailabilityInFaultPercent()) {
        violations.add(String.format(Locale.ROOT, "%s answered %.2f%% of the reads during the fault, below the "
            + "scenario's %d%%: a Redis or listener fault must degrade reads to the database, not fail them", strategy,
            report.faultAvailabilityPercent(), scenario.minAvailabilityInFaultPercent()));
      }
    }
    if (strategy.baseline) {
      for (Anomaly expected : scenario.expected(strategy)) {
        // A race's staleness shows as stale reads, or as a key still stale after quiescence when the race hit a key's
        // last write late in the run, after the last read that W could judge: either proves the checker saw it.
        boolean staleness = expected == Anomaly.STALE_READS && shown.contains(Anomaly.STALE_KEYS);
        if (!shown.contains(expected) && !staleness) {
          violations.add(strategy + " was expected to show " + expected + " and did not");
        }
      }
    } else {
      for (Anomaly anomaly : shown) {
        violations.add(strategy + " showed " + anomaly);
      }
    }
    return violations;
  }

  /** One word for the report: "as expected", or what went wrong. */
  public static String verdict(Scenario scenario, Strategy strategy, Report report) {
    List<String> violations = violations(scenario, strategy, report);
    if (!violations.isEmpty()) {
      return "UNEXPECTED: " + String.join("; ", violations);
    }
    return strategy.baseline ? "shows " + shown(scenario, report) + " as expected" : "clean";
  }
}
