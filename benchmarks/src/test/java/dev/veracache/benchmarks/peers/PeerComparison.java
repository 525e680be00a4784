package dev.veracache.benchmarks.peers;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The side-by-side run of Veracache and its peers in one command: every benchmark of this package (Veracache, raw Caffeine, raw Lettuce,
 * JetCache, Redisson) in one JMH run, its result in JMH's JSON ({@code target/peers-result.json}), then the
 * {@link PeerReport} table written to {@code target/peers-report.md} and printed. Arguments are JMH's own
 * ({@code -f 1 -wi 1 -i 1 -w 1s -r 1s} for a smoke run; a regular expression to run a subset); the result format and
 * file are always the ones above. The load average before and after the run goes into the report: numbers taken on a
 * busy machine say so.
 *
 * <p>Run with {@code ./mvnw -B -Ppeers -pl benchmarks -am -DskipTests verify} (see the module README).
 */
public final class PeerComparison {

  private static final Path RESULT = Path.of("target", "peers-result.json");
  private static final Path REPORT = Path.of("target", "peers-report.md");

  private PeerComparison() {
  }

  public static void main(String[] args) throws CommandLineOptionException, RunnerException, IOException {
    CommandLineOptions cli = new CommandLineOptions(args);
    ChainedOptionsBuilder options = new OptionsBuilder().parent(cli)
        .resultFormat(ResultFormatType.JSON)
        .result(RESULT.toString());
    if (cli.getIncludes().isEmpty()) {
      options.include(PeerComparison.class.getPackageName().replace(".", "\\.") + "\\.");
    }
    Files.createDirectories(RESULT.toAbsolutePath().getParent());
    String loadBefore = loadAverage();
    Instant started = Instant.now();
    new Runner(options.build()).run();
    String context = String.format("Run %s to %s on %d cores (%s, %s); load average before %s, after %s; JMH "
        + "arguments: `%s`.", started, Instant.now(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name"), "Java " + Runtime.version(), loadBefore, loadAverage(),
        args.length == 0 ? "(the annotations' defaults)" : String.join(" ", args));
    String report = PeerReport.fromJson(RESULT).markdown(context);
    Files.writeString(REPORT, report, StandardCharsets.UTF_8);
    System.out.println();
    System.out.println(report);
    System.out.println("Written to " + REPORT.toAbsolutePath() + " (JMH result: " + RESULT.toAbsolutePath() + ")");
  }

  /** {@code /proc/loadavg}'s three averages where there is one, else the JVM's one-minute average. */
  static String loadAverage() {
    Path proc = Path.of("/proc/loadavg");
    try {
      if (Files.isReadable(proc)) {
        String[] fields = Files.readString(proc, StandardCharsets.US_ASCII).trim().split("\\s+");
        return fields[0] + " / " + fields[1] + " / " + fields[2] + " (1 / 5 / 15 min)";
      }
    } catch (IOException | ArrayIndexOutOfBoundsException e) {
      // fall through to the JVM's figure
    }
    return String.format("%.2f (1 min)", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
  }
}
