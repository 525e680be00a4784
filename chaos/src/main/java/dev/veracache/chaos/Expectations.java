package dev.veracache.chaos;

import dev.veracache.chaos.Scenario.Anomaly;
import dev.veracache.chaos.Scenario.Strategy;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The verdict on one run: a baseline must show every anomaly its scenario expects of it (so the checker provably sees
 * it), and a Veracache strategy must show none: no stale read beyond W, no key stale after quiescence, no lost write,
 * and no herd where the scenario measures herds. Either way the fault must have taken effect: a run whose proving
 * fault measure stayed 0 (no key evicted, no set held until a delete...) proves nothing.
 */
public final class Expectations {

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
    if (scenario.herdThreshold() > 0 && report.peakConcurrentLoads() >= scenario.herdThreshold()) {
      shown.add(Anomaly.HERD);
    }
    return shown;
  }

  /** What is wrong with the run, empty when it is as expected. */
  public static List<String> violations(Scenario scenario, Strategy strategy, Report report) {
    Set<Anomaly> shown = shown(scenario, report);
    List<String> violations = new ArrayList<>();
    for (String measure : report.faultMeasures().ineffective()) {
      violations.add("the fault did not take effect: " + measure + " stayed 0");
    }
    if (strategy.baseline) {
      for (Anomaly expected : scenario.expected(strategy)) {
        if (!shown.contains(expected)) {
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
