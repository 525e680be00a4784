package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ch.vorburger.exec.ManagedProcessException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

/**
 * MariaDB's log lines keep the level the server gave them (a routine warning is not an ERROR); a crashed install is
 * tried once more on an empty data directory.
 */
class StackMariaDbTest {

  @TempDir Path data;

  @Test
  void anInstallThatCrashedOnceIsRunAgainOnAnEmptiedDataDirectory() throws Exception {
    List<List<String>> seenAtEachRun = new ArrayList<>();
    StackMariaDb.installWithOneRetry(() -> {
      seenAtEachRun.add(listing());
      if (seenAtEachRun.size() == 1) {
        halfWrittenTable();
        throw new ManagedProcessException("mariadbd got signal 11 ;\nSorry, we probably made a mistake");
      }
    }, data);
    assertThat(seenAtEachRun).as("the second install starts from an empty data directory")
        .containsExactly(List.of(), List.of());
  }

  @Test
  void anInstallThatFailsTwiceFailsTheStartWithBothReasons() {
    int[] runs = {0};
    ManagedProcessException failure = catchThrowableOfType(
        ManagedProcessException.class, () -> StackMariaDb.installWithOneRetry(() -> {
          runs[0]++;
          throw new ManagedProcessException("install failed, run " + runs[0]);
        }, data));
    assertThat(runs[0]).as("one retry, not more").isEqualTo(2);
    assertThat(failure).hasMessage("install failed, run 2");
    assertThat(failure.getSuppressed()).singleElement().extracting(Throwable::getMessage)
        .isEqualTo("install failed, run 1");
  }

  private List<String> listing() {
    try (var files = Files.list(data)) {
      return files.map(p -> p.getFileName().toString()).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void halfWrittenTable() {
    try {
      Files.createDirectories(data.resolve("mysql"));
      Files.writeString(data.resolve("mysql").resolve("half-written.MAI"), "x");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void anAbortedConnectionWarningIsAWarningNotAnError() {
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 42 [Warning] Aborted connection 42 to db: 'veracache' "
        + "user: 'root' host: 'localhost' (Got an error reading communication packets)")).isEqualTo(Level.WARN);
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 0 [ERROR] Aborting")).isEqualTo(Level.ERROR);
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 0 [Note] Server socket created on IP: '127.0.0.1'."))
        .isEqualTo(Level.DEBUG);
    assertThat(StackMariaDb.levelOf("Installing MariaDB/MySQL system tables in '/tmp/x/data' ..."))
        .isEqualTo(Level.INFO);
  }
}
