package dev.veracache.chaos;

import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The scenario's table: one row per key, whose version the writer bumps. */
final class ChaosTable {

  final String name;
  private final DatabaseServer db;

  ChaosTable(DatabaseServer db, String name, int keys) throws SQLException {
    this.db = db;
    this.name = name;
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + name + " (k VARCHAR(20) PRIMARY KEY, version BIGINT NOT NULL)");
      s.execute("INSERT INTO " + name + " SELECT CONCAT('k', seq), 1 FROM seq_0_to_" + (keys - 1));
    }
  }

  /** The committed version, as text (the cached value), or null. */
  String versionText(String key) throws SQLException {
    long v = version(key);
    return v < 0 ? null : Long.toString(v);
  }

  long version(String key) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT version FROM " + name + " WHERE k = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }
  }

  /** Bumps the version in one transaction and returns the committed version. */
  long bump(Connection c, String key) throws SQLException {
    try (PreparedStatement up = c.prepareStatement("UPDATE " + name + " SET version = version + 1 WHERE k = ?");
         PreparedStatement read = c.prepareStatement("SELECT version FROM " + name + " WHERE k = ?")) {
      up.setString(1, key);
      up.executeUpdate();
      read.setString(1, key);
      try (ResultSet rs = read.executeQuery()) {
        rs.next();
        long version = rs.getLong(1);
        c.commit();
        return version;
      }
    }
  }
}
