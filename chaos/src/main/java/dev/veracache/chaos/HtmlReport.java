package dev.veracache.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The chaos report as one self-contained HTML page: the table with a verdict per run, and for each run what its
 * scenario does and a chart of stale reads over time (inline SVG, no script, no external resource).
 */
public final class HtmlReport {

  private static final int WIDTH = 720;
  private static final int HEIGHT = 120;

  private HtmlReport() {}

  public static String render(String title, String subtitle, List<ScenarioRunner.Run> runs) {
    StringBuilder html = new StringBuilder();
    html.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").append(escape(title))
        .append("</title><style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child,"
            + "td:last-child{text-align:left}h2{font-size:15px;margin-top:2em}.none{color:#2a7}.bad{color:#c33;"
            + "font-weight:bold}</style></head><body>");
    html.append("<h1>").append(escape(title)).append("</h1><p>").append(escape(subtitle)).append("</p>");
    List<String> columns = new ArrayList<>(Report.COLUMNS);
    columns.add("verdict");
    html.append("<table><tr>");
    for (String column : columns) {
      html.append("<th>").append(escape(column)).append("</th>");
    }
    html.append("</tr>");
    for (ScenarioRunner.Run run : runs) {
      html.append(run.violations().isEmpty() ? "<tr>" : "<tr class=\"bad\">");
      for (String cell : run.cells()) {
        html.append("<td>").append(escape(cell)).append("</td>");
      }
      html.append("</tr>");
    }
    html.append("</table>");
    for (ScenarioRunner.Run run : runs) {
      Report r = run.report();
      html.append("<h2>").append(escape(r.scenario())).append(": stale reads per ").append(Report.BUCKET_MILLIS)
          .append(" ms</h2><p>").append(escape(run.scenario().description())).append(" W = ")
          .append(run.scenario().windowMillis()).append(" ms.</p>");
      html.append(chart(r.staleTimeline()));
    }
    return html.append("</body></html>").toString();
  }

  static String chart(int[] timeline) {
    int max = 0;
    for (int count : timeline) {
      max = Math.max(max, count);
    }
    if (max == 0) {
      return "<p class=\"none\">no stale read</p>";
    }
    StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
        "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", WIDTH, HEIGHT + 20, WIDTH, HEIGHT + 20));
    double barWidth = (double) WIDTH / timeline.length;
    for (int i = 0; i < timeline.length; i++) {
      double h = (double) HEIGHT * timeline[i] / max;
      svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          + "fill=\"#c33\"><title>%d ms: %d</title></rect>", i * barWidth, HEIGHT - h, Math.max(1, barWidth - 1), h,
          i * Report.BUCKET_MILLIS, timeline[i]));
    }
    svg.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"11\">0 s</text>"
        + "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%.1f s</text>"
        + "<text x=\"4\" y=\"12\" font-size=\"11\">max %d</text></svg>", HEIGHT + 15, WIDTH, HEIGHT + 15,
        timeline.length * Report.BUCKET_MILLIS / 1000.0, max));
    return svg.toString();
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
