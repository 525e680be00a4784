package dev.veracache.chaos.check;

import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the {@link Checker} measured for one scenario run. Durations in nanoseconds. {@code staleTimeline} counts the
 * stale reads that started in each {@link #BUCKET_MILLIS} ms of the run, for the chart of the HTML report.
 * {@code faultAvailabilityPercent} and {@code faultLatencyP99} cover only the reads that started while the fault was
 * active (the whole run's values when the scenario has no timed fault). {@code faultMeasures} is what the fault
 * injection counted ({@link FaultMeasures}).
 *
 * <p>What can be judged: {@code judgedReads} is how many answered reads had a commit of their key more than W before
 * them (only those can be stale); {@code judgedInFault} how many reads started while a timed fault was active with
 * their cut-off (start - W) inside it too (only those see staleness that starts and ends inside the fault; -1 when the
 * scenario has no timed fault). {@code readsOutsideFault}, {@code availabilityOutsideFaultPercent} and
 * {@code cacheHitPercentOutsideFault} cover the reads that started before the fault or more than W after it ended (all
 * reads when there is no timed fault): there the cache must answer, and answer from L1 or Redis.
 * {@code readsAfterFault} and {@code cacheHitPercentAfterFault} cover only the reads that started more than W after a
 * timed fault ended (0 without one), of all those reads (a failed read is no hit): a cache that never recovered from
 * the fault, serving every read from the database, would hide there behind the hits before the fault.
 *
 * <p>{@code outOfOrderWrites} counts the changes the database applied to a key after a newer version of that key had
 * been applied (a write-behind's flush out of order; 0 for runs that do not measure it).
 *
 * <p>{@code faultWindow} is when the timed fault was active, in ms from the run's first read (the origin of
 * {@code staleTimeline}), for the report's charts; null when the scenario has no timed fault or the run made no read.
 */
public record Report(String scenario, int reads, int writes, int staleReads, long stalenessP50, long stalenessP99,
    long stalenessMax, int keysStaleAfterQuiescence, int lostWrites, double availabilityPercent, long latencyP99,
    int[] staleTimeline, Map<History.Level, Integer> readsByLevel, int loads, int peakConcurrentLoads,
    double faultAvailabilityPercent, long faultLatencyP99, FaultMeasures.Result faultMeasures, int judgedReads,
    int judgedInFault, int readsOutsideFault, double availabilityOutsideFaultPercent,
    double cacheHitPercentOutsideFault, int readsAfterFault, double cacheHitPercentAfterFault,
    FaultWindow faultWindow, int outOfOrderWrites) {

  public static final int BUCKET_MILLIS = 100;

  /**
   * When a timed fault was active, in ms from the run's first read: [startMillis, endMillis]. A fault that was never
   * healed ends at the run's last read. Invariant: 0 <= startMillis <= endMillis, or startMillis < 0 when the fault
   * started before the first read.
   */
  public record FaultWindow(long startMillis, long endMillis) {
    public FaultWindow {
      if (endMillis < startMillis) {
        throw new IllegalArgumentException("fault window ends (" + endMillis + " ms) before it starts ("
            + startMillis + " ms)");
      }
    }
  }

  /** The columns of {@link #markdown} and of the HTML table, in order. */
  public static final List<String> COLUMNS = List.of("scenario", "reads", "L1 / L2 / DB / failed", "writes",
      "stale reads (judged; in fault)", "stale %", "staleness p50 / p99 / max (ms)", "keys stale after quiescence",
      "lost writes", "out-of-order writes", "availability % (in fault; outside)", "cache hits % outside fault (after it)", "read p99 ms (in fault)",
      "DB loads (peak per key)", "fault measures");

  public double staleReadPercent() {
    return reads == 0 ? 0 : 100.0 * staleReads / reads;
  }

  /** The row's cells, in the order of {@link #COLUMNS}. */
  public List<String> cells() {
    return List.of(scenario, Integer.toString(reads),
        level(History.Level.L1) + " / " + level(History.Level.L2) + " / " + level(History.Level.DATABASE) + " / "
            + level(History.Level.FAILED),
        Integer.toString(writes), staleReadsCell(),
        stalenessJudgeable() ? format("%.2f", staleReadPercent()) : "n/a",
        stalenessJudgeable() ? format("%.1f / %.1f / %.1f", ms(stalenessP50), ms(stalenessP99), ms(stalenessMax))
            : "n/a",
        Integer.toString(keysStaleAfterQuiescence), Integer.toString(lostWrites), Integer.toString(outOfOrderWrites),
        format("%.2f (%.2f; %s)", availabilityPercent, faultAvailabilityPercent,
            readsOutsideFault == 0 ? "n/a" : format("%.2f", availabilityOutsideFaultPercent)),
        (readsOutsideFault == 0 ? "n/a" : format("%.1f", cacheHitPercentOutsideFault))
            + (readsAfterFault == 0 ? "" : format(" (%.1f)", cacheHitPercentAfterFault)),
        format("%.2f (%.2f)", ms(latencyP99), ms(faultLatencyP99)), loads + " (" + peakConcurrentLoads + ")",
        faultMeasures.text());
  }

  /** Whether any answered read could have been judged stale (a commit of its key more than W before it). */
  public boolean stalenessJudgeable() {
    return judgedReads > 0;
  }

  /** Whether the run had a timed fault (then the "in fault" figures cover only the reads while it was active). */
  public boolean timedFault() {
    return judgedInFault >= 0;
  }

  /** Whether a timed fault left reads that could see staleness starting and ending inside it (true without one). */
  public boolean faultJudgeable() {
    return judgedInFault != 0;
  }

  /** The stale reads, or "n/a" with the reason when none could have been counted: never a bare 0 that means nothing. */
  private String staleReadsCell() {
    if (reads == 0) {
      return "n/a: no read";
    }
    if (!stalenessJudgeable()) {
      return "n/a: no read judgeable (W too wide for the run)";
    }
    String inFault = judgedInFault < 0 ? "" : judgedInFault == 0 ? "; fault not judgeable (W >= the fault)"
        : "; " + judgedInFault + " in fault";
    return staleReads + " (" + judgedReads + inFault + ")";
  }

  /** The same report with what the fault injection counted. */
  public Report withFaultMeasures(FaultMeasures.Result measures) {
    return new Report(scenario, reads, writes, staleReads, stalenessP50, stalenessP99, stalenessMax,
        keysStaleAfterQuiescence, lostWrites, availabilityPercent, latencyP99, staleTimeline, readsByLevel, loads,
        peakConcurrentLoads, faultAvailabilityPercent, faultLatencyP99, measures, judgedReads, judgedInFault,
        readsOutsideFault, availabilityOutsideFaultPercent, cacheHitPercentOutsideFault, readsAfterFault,
        cacheHitPercentAfterFault, faultWindow, outOfOrderWrites);
  }

  /** The same report with the out-of-order writes a write-behind run counted. */
  public Report withOutOfOrderWrites(int count) {
    return new Report(scenario, reads, writes, staleReads, stalenessP50, stalenessP99, stalenessMax,
        keysStaleAfterQuiescence, lostWrites, availabilityPercent, latencyP99, staleTimeline, readsByLevel, loads,
        peakConcurrentLoads, faultAvailabilityPercent, faultLatencyP99, faultMeasures, judgedReads, judgedInFault,
        readsOutsideFault, availabilityOutsideFaultPercent, cacheHitPercentOutsideFault, readsAfterFault,
        cacheHitPercentAfterFault, faultWindow, count);
  }

  /** Reads answered by a level, L2 including reads the strategy could only attribute to "the cache". */
  public int level(History.Level level) {
    return readsByLevel.getOrDefault(level, 0) + (level == History.Level.L2
        ? readsByLevel.getOrDefault(History.Level.CACHE, 0) : 0);
  }

  /** A Markdown table of several reports, one row each. */
  public static String markdown(List<Report> reports) {
    return markdown(COLUMNS, reports.stream().map(Report::cells).toList());
  }

  /** A Markdown table: the header, then one line per row. */
  public static String markdown(List<String> columns, List<List<String>> rows) {
    StringBuilder md = new StringBuilder("| ").append(String.join(" | ", columns)).append(" |\n|---");
    md.append("|---:".repeat(columns.size() - 1)).append("|\n");
    for (List<String> row : rows) {
      md.append("| ").append(String.join(" | ", row).replace("\n", " ")).append(" |\n");
    }
    return md.toString();
  }

  private static String format(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
