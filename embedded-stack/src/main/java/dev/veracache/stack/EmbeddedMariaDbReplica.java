package dev.veracache.stack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An embedded MariaDB that replicates the stack's embedded primary ({@link DatabaseReplica}): its own server id, at
 * its first start a consistent dump of the primary's database loaded and GTID replication from the dump's position,
 * the replication settings kept in its data directory across restarts. Nothing stops a client from writing to it (grant
 * tables are off, as on the primary): a write there is a test's own divergence.
 */
final class EmbeddedMariaDbReplica extends EmbeddedMariaDbServer implements DatabaseReplica {

  static final int SERVER_ID = 2;
  private static final Duration IO_THREAD_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration DUMP_TIMEOUT = Duration.ofMinutes(2);
  /** The line {@code --master-data=2 --gtid} writes: {@code -- SET GLOBAL gtid_slave_pos='0-1-42';}. */
  private static final Pattern DUMP_POSITION = Pattern.compile("gtid_slave_pos\\s*=\\s*'([^']*)'");

  private final EmbeddedMariaDbServer primary;
  private boolean replicating;

  EmbeddedMariaDbReplica(Path dir, int port, EmbeddedMariaDbServer primary) {
    super(dir, port, SERVER_ID);
    this.primary = primary;
  }

  @Override
  long startProcess() {
    long pid = super.startProcess();
    if (!replicating) {
      try {
        startReplication(copyPrimary());
      } catch (SQLException | IOException e) {
        throw new IllegalStateException("MariaDB replica on port " + port + ": cannot replicate " + primary + ": "
            + e.getMessage(), e);
      }
      replicating = true;
    }
    return pid;
  }

  /**
   * Loads a consistent dump of the primary's database ({@code mariadb-dump --single-transaction --gtid}) and returns
   * the GTID position it was taken at: the stack is shared, and a change to a table the replica does not have stops
   * replication ("table doesn't exist" on a row event cannot be skipped).
   */
  private String copyPrimary() throws IOException, SQLException {
    Path dump = dir.resolve("primary.sql");
    List<String> client = primary.clientCommand();
    Path binaries = Path.of(client.get(0)).getParent();
    List<String> command = new ArrayList<>(List.of(binaries.resolve("mariadb-dump").toString(),
        "--host=" + primary.host(), "--port=" + primary.port(), "--user=" + primary.user(), "--skip-ssl",
        "--single-transaction", "--gtid", "--master-data=2", "--routines", "--databases", primary.databaseName()));
    run(new ProcessBuilder(command).redirectOutput(dump.toFile()), "mariadb-dump of " + primary);
    String position = null;
    for (String line : Files.readAllLines(dump, StandardCharsets.UTF_8)) {
      Matcher m = DUMP_POSITION.matcher(line);
      if (m.find()) {
        position = m.group(1);
        break;
      }
    }
    if (position == null) {
      throw new IOException("the dump " + dump + " names no GTID position (no gtid_slave_pos line)");
    }
    List<String> load = new ArrayList<>(List.of(binaries.resolve("mariadb").toString(), "--host=127.0.0.1",
        "--port=" + port, "--user=" + user(), "--skip-ssl", "--init-command=SET SESSION sql_log_bin = 0"));
    run(new ProcessBuilder(load).redirectInput(dump.toFile()), "loading the dump into " + this);
    Files.delete(dump);
    return position;
  }

  private void run(ProcessBuilder builder, String what) throws IOException {
    builder.environment().remove("MYSQL_PWD");
    if (!primary.password().isEmpty()) {
      builder.environment().put("MYSQL_PWD", primary.password());
    }
    Path errors = dir.resolve("client-errors.txt");
    Process process = builder.redirectError(errors.toFile()).start();
    try {
      if (!process.waitFor(DUMP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(what + " did not finish within " + DUMP_TIMEOUT);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(what + " interrupted", e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(what + " exited with code " + process.exitValue() + ": "
          + Files.readString(errors, StandardCharsets.UTF_8).trim());
    }
  }

  /** From {@code position} (the dump's), then waits until both replication threads run. */
  private void startReplication(String position) throws SQLException {
    try (Connection c = connectToServer(); Statement s = c.createStatement()) {
      s.execute("STOP SLAVE");
      s.execute("SET GLOBAL gtid_slave_pos = '" + position + "'");
      s.execute("CHANGE MASTER TO MASTER_HOST='" + primary.host() + "', MASTER_PORT=" + primary.port()
          + ", MASTER_USER='" + primary.user() + "', MASTER_PASSWORD='" + primary.password()
          + "', MASTER_USE_GTID=slave_pos, MASTER_SSL=0, MASTER_CONNECT_RETRY=1");
      s.execute("START SLAVE");
      long deadline = System.nanoTime() + IO_THREAD_TIMEOUT.toNanos();
      String state = "";
      while (System.nanoTime() < deadline) {
        state = slaveStatus(s, "Slave_IO_Running") + "/" + slaveStatus(s, "Slave_SQL_Running");
        if (state.equals("Yes/Yes")) {
          return;
        }
        sleepBriefly();
      }
      throw new SQLException("replication did not start within " + IO_THREAD_TIMEOUT + " (IO/SQL threads: " + state
          + ", last IO error: " + slaveStatus(s, "Last_IO_Error") + ")");
    }
  }

  private String primaryPosition() throws SQLException {
    try (Connection c = primary.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT @@GLOBAL.gtid_binlog_pos")) {
      rs.next();
      return rs.getString(1) == null ? "" : rs.getString(1);
    }
  }

  @Override
  public DatabaseServer primary() {
    return primary;
  }

  @Override
  public void stopApplying() {
    execute("STOP SLAVE SQL_THREAD");
  }

  @Override
  public void resumeApplying() {
    execute("START SLAVE SQL_THREAD");
  }

  @Override
  public boolean awaitCaughtUp(Duration timeout) {
    try {
      String position = primaryPosition();
      if (position.isEmpty()) {
        return true;
      }
      try (Connection c = connectToServer();
           PreparedStatement ps = c.prepareStatement("SELECT MASTER_GTID_WAIT(?, ?)")) {
        ps.setString(1, position);
        ps.setDouble(2, timeout.toMillis() / 1000.0);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1) == 0; // -1: timed out
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(this + ": cannot wait for " + primary + "'s position: " + e.getMessage(), e);
    }
  }

  private void execute(String statement) {
    try (Connection c = connectToServer(); Statement s = c.createStatement()) {
      s.execute(statement);
    } catch (SQLException e) {
      throw new IllegalStateException(this + ": " + statement + " failed: " + e.getMessage(), e);
    }
  }

  private static String slaveStatus(Statement s, String column) throws SQLException {
    try (ResultSet rs = s.executeQuery("SHOW SLAVE STATUS")) {
      return rs.next() ? String.valueOf(rs.getString(column)) : "none";
    }
  }

  private static void sleepBriefly() throws SQLException {
    try {
      Thread.sleep(50); // polling the replica's own status, not waiting for a race
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted while replication started", e);
    }
  }

  @Override
  public String toString() {
    return "embedded MariaDB replica on 127.0.0.1:" + port + " of port " + primary.port();
  }
}
