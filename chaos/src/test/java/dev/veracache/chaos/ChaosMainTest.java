package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a person meets it: a bad file or option is one line per problem, exit 2, and no stack trace. */
class ChaosMainTest {

  @Test
  void aBadScenarioFilePrintsEveryProblemOnOneLineEachWithoutAStackTrace(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mine.yaml");
    Files.writeString(file, """
        scenarios:
          - {id: a, title: A, fault: NONE, keys: 0, raceHoldMillis: -5, colour: red,
             strategies: [VERACACHE_CACHE_ASIDE]}
          - {id: b, title: B, fault: REDIS_PAUSE, strategies: [VERACACHE_CACHE_ASIDE]}
        """);

    Result result = run("-f", file.toString());

    assertThat(result.exit).isEqualTo(ChaosMain.BAD_INPUT);
    assertThat(result.err).doesNotContain("\tat ").doesNotContain("Exception");
    List<String> lines = result.err.lines().toList();
    assertThat(lines).hasSize(5).allMatch(line -> line.startsWith("chaos: "));
    assertThat(lines.get(0)).contains(file.toString() + " scenarios[0] (a): unknown field 'colour' (valid fields: ")
        .contains("alternateKeys, deleteFraction");
    assertThat(lines.get(1)).contains("scenarios[0] (a): field 'keys' must be >= 1, was 0");
    assertThat(lines.get(2)).contains("scenarios[0] (a): field 'raceHoldMillis' must not be negative, was -5");
    assertThat(lines.get(3)).contains("scenarios[1] (b): field 'windowMillis' W = 700 ms is more than half the fault");
    assertThat(lines.get(4)).isEqualTo("chaos: 4 problems; nothing was run (--verbose for a stack trace)");
  }

  @Test
  void aValueOfTheWrongTypeOrAnUnknownConstantNamesItsField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mine.yaml");
    Files.writeString(file, """
        scenarios:
          - {id: a, title: A, fault: NONE, keys: abc, strategies: [VERACACHE_CACHE_ASIDE]}
          - {id: b, title: B, fault: FOO, strategies: [VERACACHE_CACHE_ASIDE]}
        """);

    Result result = run("-f", file.toString());

    assertThat(result.exit).isEqualTo(ChaosMain.BAD_INPUT);
    List<String> lines = result.err.lines().toList();
    assertThat(lines).hasSize(3).allMatch(line -> line.startsWith("chaos: ")).noneMatch(line -> line.contains("\tat "));
    assertThat(lines.get(0)).contains("scenarios[0] (a): field 'keys': ").contains("abc");
    assertThat(lines.get(1)).contains("scenarios[1] (b): field 'fault': ").contains("FOO").contains("FILL_RACE");
  }

  @Test
  void aYamlSyntaxErrorIsOneLineNamingWhereAndVerboseAddsTheStackTrace(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("broken.yaml");
    Files.writeString(file, "scenarios:\n  - {id: a, title: [unclosed\n");

    Result quiet = run("-f", file.toString());
    Result verbose = run("-f", file.toString(), "--verbose");

    assertThat(quiet.exit).isEqualTo(ChaosMain.BAD_INPUT);
    List<String> lines = quiet.err.lines().toList();
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0)).startsWith("chaos: " + file + " is not valid YAML: ").contains("(line ");
    assertThat(quiet.err).doesNotContain("\tat ");
    assertThat(verbose.exit).isEqualTo(ChaosMain.BAD_INPUT);
    assertThat(verbose.err).contains(lines.get(0).substring("chaos: ".length())).contains("\tat ");
  }

  @Test
  void anUnknownScenarioAndATooShortRunAreOneLineEach() {
    Result unknown = run("-s", "r99-nothing");
    assertThat(unknown.exit).isEqualTo(ChaosMain.BAD_INPUT);
    assertThat(unknown.err).startsWith("chaos: no scenario 'r99-nothing'; known: r1-stale-fill")
        .doesNotContain("\tat ");

    Result tooShort = run("-s", "redis-paused", "-d", "2");
    assertThat(tooShort.exit).isEqualTo(ChaosMain.BAD_INPUT);
    assertThat(tooShort.err).startsWith("chaos: scenario redis-paused cannot run 2 s: W = 700 ms");
  }

  @Test
  void theSummaryLineSaysHowManyRunsWereAsExpectedAndWhereTheReportsAre() {
    Path md = Path.of("out", "chaos-report.md");
    Path html = Path.of("out", "chaos-report.html");
    assertThat(ChaosMain.summary(60, 0, md, html)).startsWith("All 60 runs as expected; reports: ")
        .endsWith("chaos-report.html");
    assertThat(ChaosMain.summary(60, 2, md, html)).startsWith("2 of 60 runs NOT as expected");
  }

  private record Result(int exit, String err) {}

  private static Result run(String... args) {
    PrintStream original = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int exit = ChaosMain.execute(args);
      return new Result(exit, err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(original);
    }
  }
}
