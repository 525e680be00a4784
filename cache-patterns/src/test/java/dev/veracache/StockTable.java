package dev.veracache;

import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/** The database side of a flash-sale test: a stock table that cannot go below zero, the applied table, the writer. */
final class StockTable {

  private final DatabaseServer db;
  final String table;
  final String appliedTable;

  StockTable(DatabaseServer db, String table) throws SQLException {
    this.db = db;
    this.table = table;
    this.appliedTable = table + "_ops";
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute("DROP TABLE IF EXISTS " + appliedTable);
      s.execute("CREATE TABLE " + table + " (item VARCHAR(64) PRIMARY KEY, quantity INT NOT NULL, CONSTRAINT "
          + table + "_never_oversold CHECK (quantity >= 0))");
      s.execute(StockOptions.builder("x", "unused:1", "unused").appliedTable(appliedTable).build().appliedTableDdl());
    }
  }

  void put(String item, int quantity) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO " + table
        + " (item, quantity) VALUES (?, ?) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)")) {
      ps.setString(1, item);
      ps.setInt(2, quantity);
      ps.executeUpdate();
    }
  }

  int quantity(String item) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("SELECT quantity FROM " + table
        + " WHERE item = ?")) {
      ps.setString(1, item);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("no stock row for " + item);
        }
        return rs.getInt(1);
      }
    }
  }

  /** Sale id -> APPLIED or RELEASED, as the flusher recorded them. */
  Map<String, String> outcomes() throws SQLException {
    Map<String, String> outcomes = new HashMap<>();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT op_id, outcome FROM " + appliedTable)) {
      while (rs.next()) {
        outcomes.put(rs.getString(1), rs.getString(2));
      }
    }
    return outcomes;
  }

  final StockWriter writer = (connection, unitsByItem) -> add(connection, table(), unitsByItem);

  private String table() {
    return table;
  }

  /** The writer of {@link StockWriter}'s documentation: one batched UPDATE per item. */
  static void add(Connection connection, String table, Map<String, Long> unitsByItem) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement("UPDATE " + table
        + " SET quantity = quantity + ? WHERE item = ?")) {
      for (Map.Entry<String, Long> e : unitsByItem.entrySet()) {
        ps.setLong(1, e.getValue());
        ps.setString(2, e.getKey());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }
}
