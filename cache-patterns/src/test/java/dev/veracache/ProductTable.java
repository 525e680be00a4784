package dev.veracache;

import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A real table in the embedded MariaDB, written with plain JDBC the way an application would: every update bumps the
 * row's version in the same statement.
 */
final class ProductTable {

  private final DatabaseServer db;
  private final String table;

  ProductTable(DatabaseServer db, String table) throws SQLException {
    this.db = db;
    this.table = table;
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute("CREATE TABLE " + table
          + " (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, version BIGINT NOT NULL)");
    }
  }

  Product insert(long id, String name) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, name, version) VALUES (?, ?, 1)")) {
      ps.setLong(1, id);
      ps.setString(2, name);
      ps.executeUpdate();
    }
    return new Product(id, name, 1);
  }

  /** Sets the name, increments the version, returns the committed row. */
  Product update(long id, String name) throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + table
          + " SET name = ?, version = version + 1 WHERE id = ?")) {
        ps.setString(1, name);
        ps.setLong(2, id);
        if (ps.executeUpdate() != 1) {
          throw new SQLException("no row " + id + " in " + table);
        }
      }
      Product committed = find(c, id);
      c.commit();
      return committed;
    }
  }

  void delete(long id) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      ps.executeUpdate();
    }
  }

  /** The committed row, or null. Usable as a {@link CacheLoader}. */
  Product find(long id) throws SQLException {
    try (Connection c = db.connect()) {
      return find(c, id);
    }
  }

  Product find(String id) throws SQLException {
    return find(Long.parseLong(id));
  }

  private Product find(Connection c, long id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT id, name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3)) : null;
      }
    }
  }
}
