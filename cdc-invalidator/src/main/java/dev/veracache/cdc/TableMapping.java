package dev.veracache.cdc;

import dev.veracache.cdc.internal.KeyTemplate;
import java.time.Duration;
import java.util.List;

/**
 * How the changes of one table become cache invalidations: the namespace, the key templates (each row image yields
 * every key), the optional version column (an integer row version that grows with every change and fences stale
 * fills) and the tombstone lifetime. Built by {@link InvalidationMappings}, which validates its form; checked against
 * the table's columns when the listener starts.
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

  @Override
  public String toString() {
    return table + " -> " + namespace + ":" + keyTemplates()
        + (versionColumn == null ? "" : " version " + versionColumn);
  }
}
