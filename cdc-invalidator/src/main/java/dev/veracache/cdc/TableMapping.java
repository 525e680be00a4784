package dev.veracache.cdc;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the changes of one table become cache invalidations: the namespace, the key templates (each row image yields
 * every key), the optional version column (an integer row version that grows with every change and fences stale
 * fills) and the tombstone lifetime. Built by {@link InvalidationMappings}, which validates its form; checked against
 * the table's columns at start ({@link #checkAgainst}).
 */
public final class TableMapping {

  private final String table;
  private final String namespace;
  private final List<KeyTemplate> keys;
  private final String versionColumn;
  private final Duration tombstoneTtl;

  TableMapping(String table, String namespace, List<KeyTemplate> keys, String versionColumn, Duration tombstoneTtl) {
    this.table = table;
    this.namespace = namespace;
    this.keys = List.copyOf(keys);
    this.versionColumn = versionColumn;
    this.tombstoneTtl = tombstoneTtl;
  }

  /** {@code database.table}. */
  public String table() {
    return table;
  }

  public String namespace() {
    return namespace;
  }

  public List<String> keyTemplates() {
    return keys.stream().map(KeyTemplate::toString).toList();
  }

  /** The version column, or null. */
  public String versionColumn() {
    return versionColumn;
  }

  public boolean versioned() {
    return versionColumn != null;
  }

  public Duration tombstoneTtl() {
    return tombstoneTtl;
  }

  List<KeyTemplate> keys() {
    return keys;
  }

  /** Every column the mapping reads: to check against the table at start. */
  List<String> columns() {
    java.util.LinkedHashSet<String> columns = new java.util.LinkedHashSet<>();
    keys.forEach(k -> columns.addAll(k.columns()));
    if (versionColumn != null) {
      columns.add(versionColumn);
    }
    return List.copyOf(columns);
  }

  /**
   * At start: every column the mapping reads exists, each key template can render its columns faithfully, and the
   * version column is an integer.
   *
   * @param columns the table's columns by lower-case name
   * @throws IllegalArgumentException naming the table, the field, the column and its type
   */
  void checkAgainst(Map<String, ColumnType> columns) {
    for (KeyTemplate key : keys) {
      key.check(table, columns);
    }
    if (versionColumn != null) {
      ColumnType type = columns.get(versionColumn.toLowerCase(Locale.ROOT));
      if (type == null) {
        throw new IllegalArgumentException("table " + table + ": field 'version' names column '" + versionColumn
            + "', which the table does not have (it has " + columns.keySet() + ")");
      }
      KeyRendering.checkVersion(table, versionColumn, type);
    }
  }

  @Override
  public String toString() {
    return table + " -> " + namespace + ":" + keyTemplates()
        + (versionColumn == null ? "" : " version " + versionColumn);
  }
}
