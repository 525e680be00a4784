package dev.veracache.chaos;

import dev.veracache.chaos.report.HtmlReport;
import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.scenario.ScenarioFileException;
import dev.veracache.stack.EmbeddedStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The chaos CLI: runs a chosen set of scenarios (all by default) on the embedded stack (or on external servers, see
 * embedded-stack), every strategy of each, for each seed; prints the Markdown table with a verdict per run, and writes
 * {@code chaos-report.md} and {@code chaos-report.html} (with a chart of stale reads over time for each run). Exits 1
 * when a run was not as expected (a baseline without its anomaly, or a Veracache strategy with one).
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    description = "Runs Veracache's chaos scenarios and writes a report of measured staleness.")
public final class ChaosMain implements Callable<Integer> {

  @Option(names = {"-s", "--scenarios"}, split = ",", paramLabel = "ID",
      description = "Scenario ids, comma-separated, or 'all' (default). See --list.")
  List<String> scenarioIds = List.of("all");

  @Option(names = {"-d", "--seconds"}, paramLabel = "N",
      description = "Seconds per run, overriding each scenario's own; refused when too short to judge a scenario.")
  Integer seconds;

  @Option(names = "--seeds", split = ",", paramLabel = "SEED", description = "Seeds, comma-separated (default 42).")
  List<Long> seeds = List.of(42L);

  @Option(names = {"-f", "--file"}, paramLabel = "YAML",
      description = "A scenario file instead of the built-in catalogue (same format as scenarios.yaml).")
  Path file;

  @Option(names = {"-o", "--out"}, paramLabel = "DIR", description = "Where the reports go (default: here).")
  Path out = Path.of(".");

  @Option(names = {"-l", "--list"}, description = "Lists the scenarios and exits.")
  boolean list;

  @Option(names = {"-v", "--verbose"}, description = "Prints the stack trace of an error instead of one line per problem.")
  boolean verbose;

  /** Exit code of a bad command line or scenario file. */
  static final int BAD_INPUT = 2;
  /** Exit code when a run was not as expected. */
  static final int UNEXPECTED = 1;

  public static void main(String[] args) {
    SLF4JBridgeHandler.removeHandlersForRootLogger(); // java.util.logging (the binlog client) through logback
    SLF4JBridgeHandler.install();
    System.exit(execute(args));
  }

  /** Runs the CLI; bad input is printed as one line per problem on stderr, without a trace unless --verbose. */
  static int execute(String... args) {
    ChaosMain main = new ChaosMain();
    CommandLine commandLine = new CommandLine(main);
    commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (!(e instanceof IllegalArgumentException)) {
        throw e;
      }
      if (main.verbose) {
        e.printStackTrace(cmd.getErr());
        return BAD_INPUT;
      }
      List<String> problems = e instanceof ScenarioFileException file ? file.problems() : List.of(e.getMessage());
      for (String problem : problems) {
        cmd.getErr().println("chaos: " + problem);
      }
      cmd.getErr().println("chaos: " + problems.size() + (problems.size() == 1 ? " problem" : " problems")
          + "; nothing was run (--verbose for a stack trace)");
      return BAD_INPUT;
    });
    return commandLine.execute(args);
  }

  @Override
  public Integer call() throws Exception {
    ScenarioCatalog catalog = file == null ? ScenarioCatalog.builtIn() : ScenarioCatalog.load(file);
    if (list) {
      for (Scenario s : catalog.scenarios()) {
        System.out.printf("%-30s %-6s %s: %s%n", s.id(), s.race(), s.title(),
            String.join(", ", s.strategies().stream().map(Enum::name).toList()));
      }
      return 0;
    }
    if (seconds != null && seconds < 1) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--seconds must be >= 1, was " + seconds);
    }
    List<Scenario> chosen = new ArrayList<>();
    for (Scenario scenario : catalog.select(scenarioIds)) {
      chosen.add(seconds == null ? scenario : scenario.withSeconds(seconds)); // refused here, before any run
    }
    List<Run> runs = new ArrayList<>();
    try (EmbeddedStack stack = EmbeddedStack.start()) {
      for (Scenario scenario : chosen) {
        for (long seed : seeds) {
          for (Run run : ScenarioRunner.runAll(stack, scenario, seed)) {
            System.out.println(run.report().scenario() + ": " + run.verdict());
            runs.add(run);
          }
        }
      }
    }
    String subtitle = chosen.size() + " scenarios, seeds " + seeds
        + (seconds == null ? "" : ", " + seconds + " s per run") + ". A read is stale when a newer version had"
        + " committed more than W before it started; W is per scenario (see scenarios.yaml).";
    Files.createDirectories(out);
    Path markdown = out.resolve("chaos-report.md");
    Path html = out.resolve("chaos-report.html");
    String table = Run.markdown(runs);
    Files.writeString(markdown, "# Veracache chaos report\n\n" + subtitle + "\n\n" + table);
    Files.writeString(html, HtmlReport.render("Veracache chaos report", subtitle, runs));
    System.out.println();
    System.out.println(table);
    long unexpected = runs.stream().filter(r -> !r.violations().isEmpty()).count();
    System.out.println(summary(runs.size(), unexpected, markdown, html));
    return unexpected > 0 ? UNEXPECTED : 0;
  }

  /** The last line of a run: how many runs were as expected, how many not, where the reports are. */
  static String summary(int runs, long unexpected, Path markdown, Path html) {
    return (unexpected == 0 ? "All " + runs + " runs as expected" : unexpected + " of " + runs
        + " runs NOT as expected (their verdicts say why)") + "; reports: " + markdown.toAbsolutePath().normalize()
        + ", " + html.toAbsolutePath().normalize();
  }
}
