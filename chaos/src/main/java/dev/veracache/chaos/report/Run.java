package dev.veracache.chaos.report;

import dev.veracache.chaos.check.Expectations;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import java.util.ArrayList;
import java.util.List;

/** One run's outcome: a strategy of a scenario with a seed, its report, and the verdict {@link Expectations} gives. */
public record Run(Scenario scenario, Strategy strategy, long seed, Report report) {

  public List<String> violations() {
    return Expectations.violations(scenario, strategy, report);
  }

  public String verdict() {
    return Expectations.verdict(scenario, strategy, report);
  }

  /** A Markdown table of several runs, one row each, with their verdicts. */
  public static String markdown(List<Run> runs) {
    List<String> columns = new ArrayList<>(Report.COLUMNS);
    columns.add("verdict");
    return Report.markdown(columns, runs.stream().map(Run::cells).toList());
  }

  /** The report's cells and the verdict: a row of the CLI's table. */
  List<String> cells() {
    List<String> cells = new ArrayList<>(report.cells());
    cells.add(verdict());
    return cells;
  }
}
