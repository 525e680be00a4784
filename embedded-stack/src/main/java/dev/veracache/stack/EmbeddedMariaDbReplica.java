package dev.veracache.stack;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * An embedded MariaDB that replicates the stack's embedded primary ({@link DatabaseReplica}): its own server id, GTID
 * replication from the primary's position at its first start (so it holds what is committed after that), the
 * replication settings kept in its data directory across restarts. Nothing stops a client from writing to it (grant
 * tables are off, as on the primary): a write there is a test's own divergence.
 */
final class EmbeddedMariaDbReplica extends EmbeddedMariaDbServer implements DatabaseReplica {

  static final int SERVER_ID = 2;
  private static final Duration IO_THREAD_TIMEOUT = Duration.ofSeconds(30);

  private final EmbeddedMariaDbServer primary;
  private boolean replicating;

  EmbeddedMariaDbReplica(Path dir, int port, EmbeddedMariaDbServer primary) {
    super(dir, port, SERVER_ID);
    this.primary = primary;
  }

  /**
   * The primary's tables made before the replica started are not on it: a change to one stops replication with
   * "table doesn't exist" (1146) or "row not found" (1032), and the stack is shared by many tests. Such events are
   * skipped (and "exists already", 1050, 1051, 1062, for the same tables); tables created after the replica started
   * replicate exactly.
   */
  @Override
  List<String> extraArgs() {
    return List.of("--slave-skip-errors=1032,1050,1051,1062,1146");
  }

  @Override
  long startProcess() {
    long pid = super.startProcess();
    if (!replicating) {
      try {
        startReplication();
      } catch (SQLException e) {
        throw new IllegalStateException("MariaDB replica on port " + port + ": cannot replicate " + primary + ": "
            + e.getMessage(), e);
      }
      replicating = true;
    }
    return pid;
  }

  /** From the primary's current GTID position, then waits until the IO thread is connected. */
  private void startReplication() throws SQLException {
    String position = primaryPosition();
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
