package dev.veracache.chaos.report;

import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.scenario.FaultKind;
import dev.veracache.chaos.scenario.Scenario;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The chaos report as one self-contained HTML page that tells the truth at a glance:
 * <ol>
 *   <li>how many runs were as expected, and the colour key;</li>
 *   <li>per scenario (and seed): what it does, a summary table with its baseline(s) and Veracache strategies side by
 *       side on the same figures (stale reads, stale keys, lost writes, out-of-order writes, peak loads, availability
 *       and cache hits outside the fault, fault measures) and the verdict, then one chart of stale reads per {@link Report#BUCKET_MILLIS} ms
 *       with one line per strategy, a y-axis, and the fault window shaded;</li>
 *   <li>every measure of every run in one table.</li>
 * </ol>
 *
 * <p>Invariants:
 * <ul>
 *   <li>a cell is coloured by what its figure means for its run's strategy ({@link RunFigures}), never by the bare
 *       number: green = what the verdict wants (a baseline's expected anomaly shown, a clean Veracache figure), red =
 *       what the verdict holds against the run, grey = could not be judged ("n/a"; never green), no colour = not
 *       judged for this strategy; each coloured figure also carries a word ("expected", "missing"...) and a tooltip,
 *       so colour is never the only signal;</li>
 *   <li>a chart is drawn for every scenario, also when no run had a stale read (a flat line at 0 on a labelled axis,
 *       never a bare "no stale read");</li>
 *   <li>self-contained: inline CSS and SVG only, no script, no external resource (fonts, images, links);</li>
 *   <li>every text from a scenario or a run is escaped.</li>
 * </ul>
 */
public final class HtmlReport {

  /** Cell backgrounds (RGB); package-visible for the screenshot test, which looks for them in Chromium's rendering. */
  static final int BAD_BACKGROUND = 0xF4B4AE;
  static final int GOOD_BACKGROUND = 0xB9E5C0;
  static final int UNJUDGEABLE_BACKGROUND = 0xD6D6D6;
  /** The chart's shade of the fault window, and the lighter one of the recovery (W after it). */
  static final int FAULT_SHADE = 0xE9E2F3;
  static final int RECOVERY_SHADE = 0xF5F2FA;

  /** Columns of the full table whose cells are coloured, and the figure ({@link RunFigures#MEASURES}) they show. */
  static final Map<String, String> COLOURED_COLUMNS = Map.of(
      "stale reads (judged; in fault)", "stale-reads",
      "keys stale after quiescence", "stale-keys",
      "lost writes", "lost-writes",
      "out-of-order writes", "out-of-order",
      "availability % (in fault; outside)", "availability",
      "cache hits % outside fault (after it)", "cache-hits",
      "DB loads (peak per key)", "peak-loads",
      "fault measures", "fault-measures",
      "verdict", "verdict");

  private static final List<String> SUMMARY_HEADERS = List.of("strategy", "stale reads beyond W",
      "keys stale after quiescence", "lost writes", "out-of-order writes", "peak concurrent loads of a key",
      "availability % outside the fault", "cache hits % outside the fault", "fault measures", "verdict");

  // Chart geometry, in px.
  private static final int PLOT_LEFT = 64;
  private static final int PLOT_WIDTH = 760;
  private static final int PLOT_TOP = 22;
  private static final int PLOT_HEIGHT = 180;
  private static final int RIGHT_MARGIN = 16;
  private static final int LEGEND_LINE = 18;
  private static final List<String> BASELINE_COLOURS = List.of("#d95f02", "#7b3294", "#a6611a");
  private static final List<String> VERACACHE_COLOURS = List.of("#1f5fbf", "#0b7f85", "#404040", "#5e3c99");
  private static final List<String> VERACACHE_DASHES = List.of("", "7 4", "2 3", "10 3 2 3");

  private HtmlReport() {}

  /**
   * One line of a chart: a strategy's stale reads per bucket; {@code timeline} null when nothing was judgeable.
   * {@code name} is for the tooltips, {@code label} for the legend (none when every label is empty).
   */
  record Series(String name, String label, int[] timeline, String colour, String dash) {
    int[] counts() {
      return timeline == null ? new int[0] : timeline;
    }
  }

  public static String render(String title, String subtitle, List<Run> runs) {
    StringBuilder html = new StringBuilder();
    html.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(escape(title))
        .append("</title><style>").append(css()).append("</style></head><body>");
    html.append("<h1>").append(escape(title)).append("</h1><p>").append(escape(subtitle)).append("</p>");
    long unexpected = runs.stream().filter(run -> !run.violations().isEmpty()).count();
    html.append("<p class=\"overall ").append(unexpected == 0 ? "good" : "bad").append("\">")
        .append(unexpected == 0 ? "All " + runs.size() + " runs as expected."
            : unexpected + " of " + runs.size() + " runs NOT as expected (red verdicts below).")
        .append("</p>");
    html.append(colourKey());

    Map<String, List<Run>> groups = new LinkedHashMap<>();
    for (Run run : runs) {
      groups.computeIfAbsent(run.scenario().id() + "-seed-" + run.seed(), k -> new ArrayList<>()).add(run);
    }
    html.append(summary(groups));
    for (Map.Entry<String, List<Run>> group : groups.entrySet()) {
      html.append(chartSection(group.getKey(), group.getValue()));
    }
    html.append(fullTable(runs));
    return html.append("</body></html>").toString();
  }

  private static String css() {
    return "body{font:14px sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
        + "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right;vertical-align:top}"
        + "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
        + "td[data-measure=verdict],td[data-measure=fault-measures]{text-align:left;max-width:28em}"
        + "h2{font-size:16px;margin-top:2.2em;border-top:1px solid #ccc;padding-top:.8em}"
        + ".good{background:" + hex(GOOD_BACKGROUND) + "}"
        + ".bad{background:" + hex(BAD_BACKGROUND) + ";font-weight:bold}"
        + ".na{background:" + hex(UNJUDGEABLE_BACKGROUND) + ";font-style:italic}"
        + "td>span[data-measure]{font-size:11px;font-weight:normal;margin-left:.4em}"
        + ".role{font-size:11px;color:#555;display:block}"
        + ".overall{padding:6px 10px;display:inline-block;font-weight:bold}"
        + ".key span{display:inline-block;padding:2px 8px;margin-right:.6em;border:1px solid #bbb}"
        + ".scenario-head th{text-align:left;background:#e6e6e6;padding-top:8px}"
        + ".what{display:block;font-weight:normal;font-size:12px}h3{font-size:14px;margin-top:1.8em}"
        + "table.all{font-size:12px}svg text{font:11px sans-serif;fill:#222}";
  }

  private static String colourKey() {
    return "<p class=\"key\">Colours say what a figure means for its strategy: "
        + "<span class=\"good\">as the verdict wants</span>(a baseline shows the anomaly it is expected to show, so "
        + "the checker provably sees it; a Veracache figure is clean) "
        + "<span class=\"bad\">against the verdict</span>(a baseline missed an expected anomaly; Veracache showed an "
        + "anomaly, or answered or cached too little) "
        + "<span class=\"na\">could not be judged</span>(n/a: never a pass) "
        + "<span>not judged for this strategy</span></p>";
  }

  /**
   * The summary that opens the page: one table, a group of rows per scenario (and seed) headed by what the scenario
   * does, each row a strategy on the same figures, baselines first as the scenario lists them.
   */
  private static String summary(Map<String, List<Run>> groups) {
    StringBuilder html = new StringBuilder("<h2>Summary</h2><table class=\"summary\"><thead><tr>");
    for (String header : SUMMARY_HEADERS) {
      html.append("<th>").append(escape(header)).append("</th>");
    }
    html.append("</tr></thead>");
    for (Map.Entry<String, List<Run>> group : groups.entrySet()) {
      Run first = group.getValue().get(0);
      Scenario scenario = first.scenario();
      html.append("<tbody class=\"scenario\" id=\"summary-").append(escape(group.getKey())).append("\">");
      html.append("<tr class=\"scenario-head\"><th colspan=\"").append(SUMMARY_HEADERS.size()).append("\">")
          .append(heading(first)).append(" <a href=\"#scenario-").append(escape(group.getKey()))
          .append("\">chart</a><span class=\"what\">").append(escape(scenario.description())).append(" W = ")
          .append(scenario.windowMillis()).append(" ms.</span></th></tr>");
      for (Run run : group.getValue()) {
        html.append("<tr data-strategy=\"").append(run.strategy().name()).append("\"><td>")
            .append(escape(run.strategy().label)).append("<span class=\"role\">")
            .append(run.strategy().baseline ? "baseline" : "Veracache").append("</span></td>");
        for (RunFigures.Figure figure : RunFigures.of(run)) {
          html.append(cell(figure, figure.text()));
        }
        html.append("</tr>");
      }
      html.append("</tbody>");
    }
    return html.append("</table>").toString();
  }

  private static String heading(Run run) {
    Scenario scenario = run.scenario();
    return escape(scenario.id()) + " (" + escape(scenario.race()) + "): " + escape(scenario.title()) + ", seed "
        + run.seed();
  }

  /** A scenario's chart: one line per strategy, the fault shaded. */
  private static String chartSection(String anchor, List<Run> runs) {
    Run first = runs.get(0);
    Scenario scenario = first.scenario();
    StringBuilder html = new StringBuilder("<section class=\"scenario\" id=\"scenario-").append(escape(anchor))
        .append("\">");
    html.append("<h3>").append(heading(first)).append(": stale reads per ").append(Report.BUCKET_MILLIS)
        .append(" ms</h3>");
    html.append("<p>").append(escape(scenario.description())).append(" W = ").append(scenario.windowMillis())
        .append(" ms.").append(scenario.fault().kind().timed
            ? " The fault is shaded, its recovery (W after it) lighter."
            : scenario.fault().kind() == FaultKind.NONE ? "" : " The race injection is active for the whole run.")
        .append("</p>");
    List<Series> series = new ArrayList<>();
    int baselines = 0;
    int veracaches = 0;
    for (Run run : runs) {
      Report report = run.report();
      boolean judgeable = report.stalenessJudgeable();
      String label = (run.strategy().baseline ? "baseline: " : "") + run.strategy().label + ": "
          + (judgeable ? report.staleReads() + " stale reads" : "n/a, no read judgeable (no line)");
      int[] timeline = judgeable ? report.staleTimeline() : null;
      String name = run.strategy().label;
      series.add(run.strategy().baseline
          ? new Series(name, label, timeline, BASELINE_COLOURS.get(baselines++ % BASELINE_COLOURS.size()), "")
          : new Series(name, label, timeline, VERACACHE_COLOURS.get(veracaches % VERACACHE_COLOURS.size()),
              VERACACHE_DASHES.get(veracaches++ % VERACACHE_DASHES.size())));
    }
    html.append(chart(series, faultHull(runs), scenario.windowMillis()));
    return html.append("</section>").toString();
  }

  /** A coloured table cell with its note and reason. */
  private static String cell(RunFigures.Figure figure, String text) {
    StringBuilder td = new StringBuilder("<td class=\"").append(figure.meaning().cssClass)
        .append("\" data-measure=\"").append(figure.measure()).append("\" title=\"").append(escape(figure.why()))
        .append("\">").append(escape(text));
    if (!figure.note().isEmpty()) {
      td.append("<span class=\"").append(figure.meaning().cssClass).append("\" data-measure=\"")
          .append(figure.measure()).append("-note\">").append(escape(figure.note())).append("</span>");
    }
    return td.append("</td>").toString();
  }

  private static String fullTable(List<Run> runs) {
    StringBuilder html = new StringBuilder("<h2>Every measure of every run</h2><table class=\"all\"><tr>");
    List<String> columns = new ArrayList<>(Report.COLUMNS);
    columns.add("verdict");
    for (String column : columns) {
      html.append("<th>").append(escape(column)).append("</th>");
    }
    html.append("</tr>");
    for (Run run : runs) {
      Map<String, RunFigures.Figure> figures = new LinkedHashMap<>();
      for (RunFigures.Figure figure : RunFigures.of(run)) {
        figures.put(figure.measure(), figure);
      }
      html.append("<tr data-strategy=\"").append(run.strategy().name()).append("\">");
      List<String> cells = run.cells();
      for (int i = 0; i < cells.size(); i++) {
        String measure = i < columns.size() ? COLOURED_COLUMNS.get(columns.get(i)) : null;
        RunFigures.Figure figure = measure == null ? null : figures.get(measure);
        html.append(figure == null ? "<td>" + escape(cells.get(i)) + "</td>" : cell(figure, cells.get(i)));
      }
      html.append("</tr>");
    }
    return html.append("</table>").toString();
  }

  /** The earliest start and latest end of the runs' fault windows (they differ by ms between runs); null if none. */
  private static Report.FaultWindow faultHull(List<Run> runs) {
    Report.FaultWindow hull = null;
    for (Run run : runs) {
      Report.FaultWindow window = run.report().faultWindow();
      if (window != null) {
        hull = hull == null ? window : new Report.FaultWindow(Math.min(hull.startMillis(), window.startMillis()),
            Math.max(hull.endMillis(), window.endMillis()));
      }
    }
    return hull;
  }

  /** One unnamed series, no fault: the chart of a single timeline. */
  static String chart(int[] timeline) {
    return chart(List.of(new Series("", "", timeline, BASELINE_COLOURS.get(0), "")), null, 0);
  }

  /**
   * Stale reads per bucket, one line per series, on a y-axis with ticks, an x-axis in seconds from the first read,
   * the fault window shaded (and its recovery, W after it, lighter), a legend when the series are named, and per
   * bucket a tooltip with every series' count.
   */
  static String chart(List<Series> series, Report.FaultWindow fault, int windowMillis) {
    int buckets = 0;
    int max = 0;
    for (Series s : series) {
      buckets = Math.max(buckets, s.counts().length);
      for (int count : s.counts()) {
        max = Math.max(max, count);
      }
    }
    long spanMillis = Math.max(1, (long) buckets * Report.BUCKET_MILLIS);
    if (fault != null) {
      spanMillis = Math.max(spanMillis, fault.endMillis());
    }
    int yStep = niceStep(Math.max(1, max) / 4.0, true);
    int yTop = Math.max(yStep, (int) Math.ceil(Math.max(1, max) / (double) yStep) * yStep);
    boolean legend = series.stream().anyMatch(s -> !s.label().isEmpty());
    int legendTop = PLOT_TOP + PLOT_HEIGHT + 56;
    int height = legend ? legendTop + LEGEND_LINE * series.size() : PLOT_TOP + PLOT_HEIGHT + 40;
    int width = PLOT_LEFT + PLOT_WIDTH + RIGHT_MARGIN;
    double xScale = (double) PLOT_WIDTH / spanMillis;
    int bottom = PLOT_TOP + PLOT_HEIGHT;

    StringBuilder svg = new StringBuilder(format("<svg class=\"chart\" width=\"%d\" height=\"%d\" "
        + "viewBox=\"0 0 %d %d\" role=\"img\">", width, height, width, height));
    svg.append(format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>",
        PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT));
    if (fault != null) {
      // Clamped to the plot: a fault may start before the first read (the origin).
      double x0 = PLOT_LEFT + Math.max(0, fault.startMillis()) * xScale;
      double x1 = PLOT_LEFT + Math.max(0, Math.min(spanMillis, fault.endMillis())) * xScale;
      double x2 = PLOT_LEFT + Math.max(0, Math.min(spanMillis, fault.endMillis() + windowMillis)) * xScale;
      svg.append(format("<rect class=\"recovery\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
          + "<title>recovery: W (%d ms) after the fault, not counted for availability and cache hits</title></rect>",
          x1, PLOT_TOP, Math.max(0, x2 - x1), PLOT_HEIGHT, hex(RECOVERY_SHADE), windowMillis));
      svg.append(format("<rect class=\"fault\" data-start-ms=\"%d\" data-end-ms=\"%d\" x=\"%.1f\" y=\"%d\" "
          + "width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>fault active: %d-%d ms</title></rect>",
          fault.startMillis(), fault.endMillis(), x0, PLOT_TOP, Math.max(1, x1 - x0), PLOT_HEIGHT,
          hex(FAULT_SHADE), fault.startMillis(), fault.endMillis()));
      svg.append(format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">fault</text>", (x0 + x1) / 2,
          PLOT_TOP - 6));
    }
    // y-axis: gridlines, ticks and labels, title.
    svg.append("<g class=\"y-axis\">");
    for (int value = 0; value <= yTop; value += yStep) {
      double y = bottom - (double) PLOT_HEIGHT * value / yTop;
      svg.append(format("<line class=\"y-tick\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\"/>",
          PLOT_LEFT - 5, y, PLOT_LEFT, y));
      if (value > 0) {
        svg.append(format("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", PLOT_LEFT, y,
            PLOT_LEFT + PLOT_WIDTH, y));
      }
      svg.append(format("<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>", PLOT_LEFT - 8, y + 4, value));
    }
    svg.append(format("<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">"
        + "stale reads per %d ms</text></g>", PLOT_TOP + PLOT_HEIGHT / 2, PLOT_TOP + PLOT_HEIGHT / 2,
        Report.BUCKET_MILLIS));
    // x-axis: seconds from the first read.
    svg.append("<g class=\"x-axis\">");
    int xStepMillis = niceStep(spanMillis / 8.0, false);
    for (long t = 0; t <= spanMillis; t += xStepMillis) {
      double x = PLOT_LEFT + t * xScale;
      svg.append(format("<line class=\"x-tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>", x,
          bottom, x, bottom + 5));
      svg.append(format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, bottom + 17,
          seconds(t)));
    }
    svg.append(format("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds since the run's first read</text>"
        + "</g>", PLOT_LEFT + PLOT_WIDTH / 2, bottom + 33));
    // One step line per series: a bucket's count holds over its 100 ms.
    for (Series s : series) {
      if (s.timeline() == null) {
        continue; // nothing judgeable: a line at 0 would claim "no stale read"
      }
      StringBuilder points = new StringBuilder();
      int[] timeline = s.timeline();
      for (int i = 0; i < timeline.length; i++) {
        double y = bottom - (double) PLOT_HEIGHT * timeline[i] / yTop;
        points.append(format("%.1f,%.1f %.1f,%.1f ", PLOT_LEFT + (double) i * Report.BUCKET_MILLIS * xScale, y,
            PLOT_LEFT + (double) (i + 1) * Report.BUCKET_MILLIS * xScale, y));
      }
      svg.append("<polyline class=\"series\" fill=\"none\" stroke=\"").append(s.colour())
          .append("\" stroke-width=\"2\"").append(s.dash().isEmpty() ? "" : " stroke-dasharray=\"" + s.dash() + "\"")
          .append(" points=\"").append(points.toString().trim()).append("\"><title>").append(escape(s.label()))
          .append("</title></polyline>");
    }
    // Per bucket, a tooltip with every series' count.
    double bucketWidth = Report.BUCKET_MILLIS * xScale;
    for (int i = 0; i < buckets; i++) {
      StringBuilder counts = new StringBuilder();
      for (Series s : series) {
        String count = s.timeline() == null ? "n/a" : Integer.toString(i < s.counts().length ? s.counts()[i] : 0);
        counts.append(counts.length() == 0 ? "" : "; ").append(s.name().isEmpty() ? "" : s.name() + " ")
            .append(count);
      }
      svg.append(format("<rect class=\"bucket\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
          + "fill=\"transparent\"><title>%d ms: %s</title></rect>", PLOT_LEFT + i * bucketWidth, PLOT_TOP,
          bucketWidth, PLOT_HEIGHT, i * Report.BUCKET_MILLIS, escape(counts.toString())));
    }
    if (legend) {
      svg.append("<g class=\"legend\">");
      for (int i = 0; i < series.size(); i++) {
        Series s = series.get(i);
        int y = legendTop + i * LEGEND_LINE;
        if (s.timeline() == null) {
          svg.append(format("<rect x=\"%d\" y=\"%d\" width=\"36\" height=\"10\" fill=\"%s\"/>", PLOT_LEFT, y - 9,
              hex(UNJUDGEABLE_BACKGROUND)));
        } else {
          svg.append(format("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>",
              PLOT_LEFT, y - 4, PLOT_LEFT + 36, y - 4, s.colour(),
              s.dash().isEmpty() ? "" : " stroke-dasharray=\"" + s.dash() + "\""));
        }
        svg.append(format("<text x=\"%d\" y=\"%d\">%s</text>", PLOT_LEFT + 44, y, escape(s.label())));
      }
      svg.append("</g>");
    }
    return svg.append("</svg>").toString();
  }

  /**
   * A round step (1, 2 or 5 times a power of ten) at least {@code rough}; in units (counts, at least 1) or in ms (at
   * least one bucket).
   */
  static int niceStep(double rough, boolean counts) {
    double step = counts ? 1 : Report.BUCKET_MILLIS;
    while (step < rough) {
      double decade = Math.pow(10, Math.floor(Math.log10(step)));
      double mantissa = Math.round(step / decade);
      step = mantissa < 2 ? 2 * decade : mantissa < 5 ? 5 * decade : 10 * decade;
    }
    return (int) step;
  }

  private static String seconds(long millis) {
    return millis % 1000 == 0 ? (millis / 1000) + " s" : format("%.1f s", millis / 1000.0);
  }

  private static String hex(int rgb) {
    return String.format(Locale.ROOT, "#%06x", rgb);
  }

  private static String format(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
