package dev.veracache.chaos;

import java.util.List;
import java.util.Locale;

/**
 * What the {@link Checker} measured for one scenario run. Durations in nanoseconds. {@code staleTimeline} counts the
 * stale reads that started in each {@link #BUCKET_MILLIS} ms of the run, for the chart of the HTML report.
 */
public record Report(String scenario, int reads, int writes, int staleReads, long stalenessP50, long stalenessP99,
    long stalenessMax, int keysStaleAfterQuiescence, int lostWrites, double availabilityPercent, long latencyP99,
    int[] staleTimeline) {

  public static final int BUCKET_MILLIS = 100;

  public double staleReadPercent() {
    return reads == 0 ? 0 : 100.0 * staleReads / reads;
  }

  /** A Markdown table of several reports, one row each. */
  public static String markdown(List<Report> reports) {
    StringBuilder md = new StringBuilder();
    md.append("| scenario | reads | writes | stale reads | stale % | staleness p50 / p99 / max (ms) "
        + "| keys stale after quiescence | lost writes | availability % | read p99 (ms) |\n");
    md.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
    for (Report r : reports) {
      md.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.1f / %.1f / %.1f | %d | %d | %.2f | %.2f |%n",
          r.scenario, r.reads, r.writes, r.staleReads, r.staleReadPercent(), ms(r.stalenessP50), ms(r.stalenessP99),
          ms(r.stalenessMax), r.keysStaleAfterQuiescence, r.lostWrites, r.availabilityPercent, ms(r.latencyP99)));
    }
    return md.toString();
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
