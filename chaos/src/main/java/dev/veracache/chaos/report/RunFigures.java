package dev.veracache.chaos.report;

import dev.veracache.chaos.check.Expectations;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Anomaly;
import dev.veracache.chaos.workload.FaultMeasures;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The figures of one run that the verdict ({@link Expectations}) looks at, each with what it means for THAT run's
 * strategy, so that the HTML report can colour them truthfully. The same number means opposite things for a baseline
 * and for Veracache: a baseline's stale reads prove the checker sees the anomaly, Veracache's break a promise.
 *
 * <p>Invariants (the report's colours rely on them):
 * <ul>
 *   <li>{@link Meaning#GOOD} only for a figure that was judged and is what the verdict wants of this strategy: a
 *       baseline's expected anomaly shown, a Veracache anomaly absent, a Veracache availability or cache-hit share at
 *       or above its bound, every proving fault measure above 0, a verdict without violation;</li>
 *   <li>{@link Meaning#BAD} for a figure the verdict holds against the run: an expected anomaly a baseline did not
 *       show, any anomaly Veracache showed, a share below its bound, a proving fault measure at 0, a verdict with
 *       violations;</li>
 *   <li>{@link Meaning#UNJUDGEABLE} for a figure that could not be judged (no read judgeable, a fault shorter than W,
 *       no read outside the fault): never GOOD, whatever the number says;</li>
 *   <li>{@link Meaning#NOT_JUDGED} for a figure the verdict does not judge for this strategy (a baseline's anomaly it
 *       is not expected to show, its availability; peak loads where the scenario measures no herd);</li>
 *   <li>the rules are Expectations' own (its {@code shown}, its bounds, the scenario's expectations), read, never
 *       restated with other numbers; a run with violations has a BAD or UNJUDGEABLE figure besides its verdict (pinned
 *       by {@code HtmlReportTest}).</li>
 * </ul>
 */
final class RunFigures {

  /** What a figure means for its run's strategy; {@code cssClass} is the class of its cell in the HTML report. */
  enum Meaning {
    GOOD("good"), BAD("bad"), UNJUDGEABLE("na"), NOT_JUDGED("info");

    final String cssClass;

    Meaning(String cssClass) {
      this.cssClass = cssClass;
    }
  }

  /**
   * One figure: {@code measure} names it in the page ({@code stale-reads}, ...), {@code note} is a word or two shown
   * next to the number ("expected", "missing", ...; empty for none), {@code why} the reason, as a tooltip.
   */
  record Figure(String measure, String text, Meaning meaning, String note, String why) {}

  /** The measures, in the order of the summary's columns (after the strategy). */
  static final List<String> MEASURES = List.of("stale-reads", "stale-keys", "lost-writes", "out-of-order",
      "peak-loads",
      "availability", "cache-hits", "fault-measures", "verdict");

  private RunFigures() {}

  /** The run's figures, in the order of {@link #MEASURES}. */
  static List<Figure> of(Run run) {
    Scenario scenario = run.scenario();
    Report report = run.report();
    Set<Anomaly> shown = Expectations.shown(scenario, report);
    List<Figure> figures = new ArrayList<>();
    figures.add(staleReads(run, shown));
    figures.add(anomaly(run, shown, Anomaly.STALE_KEYS, "stale-keys",
        Integer.toString(report.keysStaleAfterQuiescence())));
    figures.add(anomaly(run, shown, Anomaly.LOST_WRITES, "lost-writes", Integer.toString(report.lostWrites())));
    figures.add(anomaly(run, shown, Anomaly.OUT_OF_ORDER, "out-of-order",
        Integer.toString(report.outOfOrderWrites())));
    figures.add(peakLoads(run, shown));
    figures.add(share(run, "availability", report.availabilityOutsideFaultPercent(), "%.2f",
        Expectations.MIN_AVAILABILITY_OUTSIDE_FAULT, "of the reads outside the fault answered"));
    // The lower of the two shares the verdict judges: outside the fault, and after its recovery alone.
    double hits = report.readsAfterFault() > 0
        ? Math.min(report.cacheHitPercentOutsideFault(), report.cacheHitPercentAfterFault())
        : report.cacheHitPercentOutsideFault();
    figures.add(share(run, "cache-hits", hits, "%.1f", scenario.minCacheHitPercent(),
        "of the answers outside the fault (and after its recovery) from L1 or Redis"));
    figures.add(faultMeasures(report.faultMeasures()));
    List<String> violations = run.violations();
    figures.add(new Figure("verdict", run.verdict(), violations.isEmpty() ? Meaning.GOOD : Meaning.BAD, "",
        violations.isEmpty() ? "as expected" : String.join("; ", violations)));
    return figures;
  }

  private static Figure staleReads(Run run, Set<Anomaly> shown) {
    Report report = run.report();
    if (report.reads() == 0) {
      return new Figure("stale-reads", "n/a: no read", Meaning.UNJUDGEABLE, "", "the run made no read");
    }
    if (!report.stalenessJudgeable()) {
      return new Figure("stale-reads", "n/a: no read judgeable", Meaning.UNJUDGEABLE, "",
          "no read had a commit of its key more than W (" + run.scenario().windowMillis() + " ms) before it: "
              + "a 0 here would mean nothing");
    }
    if (!report.faultJudgeable()) {
      return new Figure("stale-reads", report.staleReads() + "; fault n/a", Meaning.UNJUDGEABLE, "",
          "no read during the fault could be judged against a commit made in it: W ("
              + run.scenario().windowMillis() + " ms) is not shorter than the fault");
    }
    return anomaly(run, shown, Anomaly.STALE_READS, "stale-reads", Integer.toString(report.staleReads()));
  }

  private static Figure peakLoads(Run run, Set<Anomaly> shown) {
    int threshold = run.scenario().herdThreshold();
    String text = Integer.toString(run.report().peakConcurrentLoads());
    if (threshold <= 0) {
      return new Figure("peak-loads", text, Meaning.NOT_JUDGED, "", "the scenario measures no herd");
    }
    Figure judged = anomaly(run, shown, Anomaly.HERD, "peak-loads", text);
    return new Figure(judged.measure(), judged.text(), judged.meaning(), judged.note(),
        judged.why() + " (a herd is " + threshold + " or more concurrent loads of one key, and at least "
            + Expectations.HERD_LOADS_PER_WRITE + " loads per write)");
  }

  /** An anomaly's figure: what showing it, or not, means for this strategy. */
  private static Figure anomaly(Run run, Set<Anomaly> shown, Anomaly anomaly, String measure,
      String text) {
    boolean isShown = shown.contains(anomaly);
    if (run.strategy().baseline) {
      if (run.scenario().expected(run.strategy()).contains(anomaly)) {
        return isShown
            ? new Figure(measure, text, Meaning.GOOD, "expected", "the baseline shows " + anomaly
                + " as expected: the checker sees it")
            : new Figure(measure, text, Meaning.BAD, "missing", "the baseline was expected to show " + anomaly
                + " and did not: the checker may not see it");
      }
      return new Figure(measure, text, Meaning.NOT_JUDGED, "",
          "not required of this baseline: " + anomaly + " is not among its expected anomalies");
    }
    return isShown
        ? new Figure(measure, text, Meaning.BAD, "anomaly", "Veracache showed " + anomaly)
        : new Figure(measure, text, Meaning.GOOD, "", "Veracache showed no " + anomaly);
  }

  /** A share that Veracache must keep at or above its bound outside the fault; baselines are not judged on it. */
  private static Figure share(Run run, String measure, double percent, String format, double bound,
      String what) {
    Report report = run.report();
    boolean noReadOutside = report.readsOutsideFault() == 0;
    String text = noReadOutside ? "n/a" : String.format(Locale.ROOT, format, percent);
    if (run.strategy().baseline) {
      return new Figure(measure, text, Meaning.NOT_JUDGED, "", "baselines are not judged on this");
    }
    if (report.reads() == 0) {
      return new Figure(measure, text, Meaning.BAD, "no read", "the run made no read");
    }
    if (noReadOutside) {
      return new Figure(measure, text, Meaning.UNJUDGEABLE, "",
          "no read started outside the fault and its recovery (W after it): nothing to judge");
    }
    String why = String.format(Locale.ROOT, "%s%% %s; at least %s%% required", text, what,
        String.format(Locale.ROOT, "%.0f", bound));
    return percent < bound
        ? new Figure(measure, text, Meaning.BAD, "below " + String.format(Locale.ROOT, "%.0f", bound), why)
        : new Figure(measure, text, Meaning.GOOD, "", why);
  }

  private static Figure faultMeasures(FaultMeasures.Result measures) {
    List<String> ineffective = measures.ineffective();
    if (!ineffective.isEmpty()) {
      return new Figure("fault-measures", measures.text(), Meaning.BAD, "no effect",
          "the fault did not take effect: " + String.join(", ", ineffective) + " stayed 0");
    }
    if (!measures.proving().isEmpty()) {
      return new Figure("fault-measures", measures.text(), Meaning.GOOD, "",
          "the fault took effect: " + String.join(", ", measures.proving().stream().sorted().toList()) + " above 0");
    }
    return new Figure("fault-measures", measures.text(), Meaning.NOT_JUDGED, "", "no count proves this fault");
  }
}
