package dev.veracache.chaos.check;

import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The order in which the database applied each key's versions, as the database itself saw it: a trigger on the run's
 * table appends every change of a row's version, in commit order, to {@code <table>_applied}; a change is <b>out of
 * order</b> when it sets a key to a version below one that key already had (a write-behind that flushed an older
 * write after a newer one, whatever the writer believed it did).
 *
 * <p>Invariants:
 * <ul>
 *   <li>The history is written by the database inside the writer's own transaction (an {@code AFTER UPDATE} row
 *       trigger): a rolled-back batch leaves nothing, a committed one leaves every version change, so nothing the
 *       writer reports about itself is trusted.</li>
 *   <li>An update that leaves the version as it was is not a change (not recorded); the row's starting version (its
 *       insert) is not in the history, the first recorded change of a key is judged against no earlier one.</li>
 *   <li>Order is the history's auto-increment id: InnoDB hands it out under the table's lock in the order the rows
 *       were changed, and a later transaction's changes to a key come after the earlier one's (row lock).</li>
 * </ul>
 */
public final class AppliedVersions {

  /** One recorded change: the key and the version it was set to, in the order applied. */
  public record Applied(String key, long version) {}

  private AppliedVersions() {}

  /** The history table of {@code table}. */
  public static String historyTable(String table) {
    return table + "_applied";
  }

  /**
   * Creates the history table and the trigger on {@code table} (which must have columns {@code k} and
   * {@code version}); run before any write of the run.
   */
  public static void install(DatabaseServer db, String table) throws SQLException {
    String history = historyTable(table);
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + history + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(20) NOT NULL, "
          + "version BIGINT NOT NULL)");
      s.execute("CREATE OR REPLACE TRIGGER " + table + "_record_applied AFTER UPDATE ON " + table
          + " FOR EACH ROW INSERT INTO " + history + " (k, version) SELECT NEW.k, NEW.version FROM DUAL"
          + " WHERE NEW.version <> OLD.version");
    }
  }

  /** The recorded changes, in the order the database applied them. */
  public static List<Applied> read(DatabaseServer db, String table) throws SQLException {
    List<Applied> applied = new ArrayList<>();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT k, version FROM " + historyTable(table) + " ORDER BY id")) {
      while (rs.next()) {
        applied.add(new Applied(rs.getString(1), rs.getLong(2)));
      }
    }
    return applied;
  }

  /** How many changes set their key to a version below one the key already had (see the class comment). */
  public static int outOfOrder(List<Applied> history) {
    Map<String, Long> highest = new HashMap<>();
    int inversions = 0;
    for (Applied change : history) {
      Long before = highest.get(change.key());
      if (before != null && change.version() < before) {
        inversions++;
      } else {
        highest.put(change.key(), change.version());
      }
    }
    return inversions;
  }
}
