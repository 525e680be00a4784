package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.TableMapping;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Checks at start that every mapping fits the table it maps, so that a key the listener cannot render faithfully is
 * refused before any change is read, not met under a running listener.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Every problem names the table, the field, the column and its type</b>: a missing table or column, a key
 *       column that cannot be rendered faithfully ({@link KeyRendering}), a version column that is not an
 *       integer (IllegalArgumentException); a database that cannot be read names host and port
 *       (IllegalStateException).</li>
 * </ul>
 */
public final class SchemaCheck {

  private SchemaCheck() {}

  /** Reads each mapped table's columns from information_schema and checks its mapping against them. */
  public static void check(CdcOptions options) {
    for (TableMapping mapping : options.mappings().tables()) {
      checkAgainst(mapping, columnsOf(options, mapping.table()));
    }
  }

  private static Map<String, ColumnType> columnsOf(CdcOptions options, String table) {
    String[] parts = table.split("\\.", 2);
    Map<String, ColumnType> columns = new LinkedHashMap<>();
    try (Connection c = Jdbc.connect(options, parts[0]);
         PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLLATION_NAME, "
             + "CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? "
             + "ORDER BY ORDINAL_POSITION")) {
      ps.setString(1, parts[0]);
      ps.setString(2, parts[1]);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          String dataType = rs.getString(2);
          String columnType = rs.getString(3);
          String collation = rs.getString(4);
          long octets = rs.getLong(5);
          ColumnType type = new ColumnType(name, dataType, columnType, collation, rs.wasNull() ? null : octets);
          columns.put(type.name().toLowerCase(Locale.ROOT), type);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the columns of " + table + " from " + options.host() + ":"
          + options.port() + ": " + e.getMessage(), e);
    }
    if (columns.isEmpty()) {
      throw new IllegalArgumentException("table " + table + ": no such table in the database");
    }
    return columns;
  }

  /**
   * Every column the mapping reads exists, each key template can render its columns faithfully, and the version
   * column is an integer.
   *
   * @param columns the table's columns by lower-case name
   */
  static void checkAgainst(TableMapping mapping, Map<String, ColumnType> columns) {
    String table = mapping.table();
    for (KeyTemplate key : KeyTemplate.of(mapping)) {
      key.check(table, columns);
    }
    String versionColumn = mapping.versionColumn();
    if (versionColumn != null) {
      ColumnType type = columns.get(versionColumn.toLowerCase(Locale.ROOT));
      if (type == null) {
        throw new IllegalArgumentException("table " + table + ": field 'version' names column '" + versionColumn
            + "', which the table does not have (it has " + columns.keySet() + ")");
      }
      KeyRendering.checkVersion(table, versionColumn, type);
    }
  }
}
