package dev.veracache.chaos;

import dev.veracache.stack.EmbeddedStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the standard scenarios, the naive baselines next to Veracache, on the embedded stack (or on external servers,
 * see embedded-stack), prints the Markdown table and writes {@code chaos-report.md} and {@code chaos-report.html}
 * (with a chart of stale reads over time for each scenario).
 *
 * <p>Args: seconds per scenario (default 10), seed (default 42).
 */
public final class ChaosMain {

  private ChaosMain() {}

  public static void main(String[] args) throws Exception {
    Duration duration = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 10);
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 42;
    List<Report> reports = new ArrayList<>();
    try (EmbeddedStack stack = EmbeddedStack.start()) {
      for (Scenario scenario : standardScenarios(duration, seed)) {
        System.out.println("running " + scenario.name() + " ...");
        reports.add(ScenarioRunner.run(stack, scenario));
      }
    }
    String table = Report.markdown(reports);
    String subtitle = "W = 200 ms (500 ms with Redis read-only, 1 s paused), " + duration.toSeconds()
        + " s per scenario, seed " + seed;
    Path markdown = Path.of("chaos-report.md");
    Path html = Path.of("chaos-report.html");
    Files.writeString(markdown, "# Veracache chaos report\n\n" + subtitle + "\n\n" + table);
    Files.writeString(html, HtmlReport.render("Veracache chaos report", subtitle, reports));
    System.out.println();
    System.out.println(table);
    System.out.println("report written to " + markdown.toAbsolutePath() + " and " + html.toAbsolutePath());
  }

  /**
   * R1 (slow fill under writes), R3 (double delete against slow fills), R2 (deletes refused by a read-only Redis), and
   * a paused Redis (availability, and how long L1 serves what it can no longer hear about).
   */
  public static List<Scenario> standardScenarios(Duration duration, long seed) {
    List<Scenario> scenarios = new ArrayList<>();
    for (Scenario.Strategy strategy : Scenario.Strategy.values()) {
      scenarios.add(Scenario.of("R1/R3 slow fill, " + name(strategy), strategy, Scenario.Fault.SLOW_FILL, duration,
          seed));
    }
    for (Scenario.Strategy strategy : Scenario.Strategy.values()) {
      scenarios.add(Scenario.of("R2 Redis read-only, " + name(strategy), strategy, Scenario.Fault.REDIS_READONLY,
          duration, seed));
    }
    for (Scenario.Strategy strategy : Scenario.Strategy.values()) {
      scenarios.add(Scenario.of("Redis paused, " + name(strategy), strategy, Scenario.Fault.REDIS_PAUSE, duration,
          seed));
    }
    return scenarios;
  }

  private static String name(Scenario.Strategy strategy) {
    return switch (strategy) {
      case NAIVE -> "naive cache-aside";
      case DOUBLE_DELETE -> "delayed double delete";
      case VERACACHE_CDC -> "Veracache + CDC";
    };
  }
}
