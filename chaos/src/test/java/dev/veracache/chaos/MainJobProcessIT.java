package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.fault.CdcInvalidatorProcess;
import dev.veracache.stack.EmbeddedStack;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos command as a user runs it, in a JVM of its own with its own embedded stack: on a run where every verdict is as
 * expected it prints no ERROR and no stack trace, ends with the one-line summary, exits 0, and leaves nothing in the
 * temporary directory (its stack's servers, the CDC listener's state, the crash files, the extracted Redis binary).
 * The scenario is the listener crash: a listener JVM killed mid-batch, the binlog client's logging, aborted database
 * connections, the noisiest run there is.
 */
class MainJobProcessIT {

  /** The scenario the chaos command runs here, at its default seed 42; {@link ChaosScenariosIT} does not run it again. */
  static final String SCENARIO = "r6-listener-crash";
  static final long SEED = 42;

  @Test
  void aCleanRunIsQuietEndsWithItsSummaryAndLeavesNoTemporaryFiles(@TempDir Path work) throws Exception {
    Path tmp = Files.createDirectories(work.resolve("tmp"));
    Path out = work.resolve("reports");
    Path log = work.resolve("main-job.log");
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djava.io.tmpdir=" + tmp, // the listener's class-data archive is this JVM's, not in tmp:
        "-D" + CdcInvalidatorProcess.ARCHIVE_DIRECTORY_PROPERTY + "=" + CdcInvalidatorProcess.archiveDirectory(),
        // and the machine's MariaDB install cache too, made once per machine and kept on purpose:
        "-D" + EmbeddedStack.MARIADB_CACHE_PROPERTY + "=" + EmbeddedStack.mariaDbCacheDirectory(),
        "-cp", System.getProperty("java.class.path"), ChaosMain.class.getName(),
        "-s", SCENARIO, "--seeds", Long.toString(SEED), "-o", out.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean ended = process.waitFor(5, TimeUnit.MINUTES);
    if (!ended) {
      process.destroyForcibly();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);

    assertThat(ended).as("the chaos command ended within 5 minutes:\n%s", output).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    assertThat(output).as("no ERROR line").doesNotContain("ERROR");
    assertThat(output).as("no stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    List<String> lines = output.lines().filter(line -> !line.isBlank()).toList();
    assertThat(lines.get(lines.size() - 1)).startsWith("All 2 runs as expected; reports: ")
        .contains(out.resolve("chaos-report.html").toString());
    assertThat(leftIn(tmp)).as("left in the temporary directory").isEmpty();
  }

  /** Everything left under {@code dir}: files and directories, empty ones too. */
  private static List<Path> leftIn(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      return paths.filter(path -> !path.equals(dir)).toList();
    }
  }
}
