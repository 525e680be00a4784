package dev.veracache;

import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * The database side of a write-behind test: a real table whose rows keep the version of their last write (deletes are
 * soft, so the version survives them), the versioned writer the flusher applies batches with, and a loader. Each row
 * also counts how many writes changed it, which shows a replay that applied twice.
 */
final class ProductLog {

  private final DatabaseServer db;
  final String table;
  /** Every batch the writer was given, as the list of its changes. */
  final List<List<WriteBehindChange<Long, Product>>> batches = new CopyOnWriteArrayList<>();
  final AtomicInteger writerCalls = new AtomicInteger();

  ProductLog(DatabaseServer db, String table) throws SQLException {
    this.db = db;
    this.table = table;
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(40) NOT NULL, deleted BOOLEAN NOT "
          + "NULL, version BIGINT NOT NULL, changes INT NOT NULL, CONSTRAINT " + table + "_no_poison CHECK (name <> "
          + "'poison'))");
    }
  }

  DataSource dataSource() {
    return RealServersTest.dataSource(db);
  }

  void insert(long id, String name, long version) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO " + table
        + " (id, name, deleted, version, changes) VALUES (?, ?, FALSE, ?, 0)")) {
      ps.setLong(1, id);
      ps.setString(2, name);
      ps.setLong(3, version);
      ps.executeUpdate();
    }
  }

  /** The versioned upsert of WriteBehindWriter's documentation, in one JDBC batch. */
  final WriteBehindWriter<Long, Product> writer = this::write;

  private void write(java.sql.Connection connection, List<WriteBehindChange<Long, Product>> changes)
      throws SQLException {
    writerCalls.incrementAndGet();
    batches.add(List.copyOf(changes));
    try (PreparedStatement ps = connection.prepareStatement("INSERT INTO " + table
        + " (id, name, deleted, version, changes) VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE"
        + " changes = IF(version < VALUES(version), changes + 1, changes),"
        + " name = IF(version < VALUES(version), VALUES(name), name),"
        + " deleted = IF(version < VALUES(version), VALUES(deleted), deleted),"
        + " version = GREATEST(version, VALUES(version))")) {
      for (WriteBehindChange<Long, Product> change : changes) {
        ps.setLong(1, change.key());
        ps.setString(2, change.deleted() ? "" : change.value().name());
        ps.setBoolean(3, change.deleted());
        ps.setLong(4, change.version());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** The live row as the application reads it (null if absent or deleted), with the version the row stores. */
  Product find(long id) throws SQLException {
    Row row = row(id);
    return row == null || row.deleted ? null : new Product(id, row.name, row.version);
  }

  Row row(long id) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(
        "SELECT name, deleted, version, changes FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Row(rs.getString(1), rs.getBoolean(2), rs.getLong(3), rs.getInt(4)) : null;
      }
    }
  }

  record Row(String name, boolean deleted, long version, int changes) {}
}
