package dev.veracache.cdc.internal;

import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.MappingException;
import dev.veracache.cdc.TableMapping;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Turns one Debezium change event into what it implies for the cache: key invalidations for a row change, or a
 * namespace flush for a change of a whole mapped table.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Keys from both images.</b> Every template is rendered from the before and the after image (a changed SKU
 *       touches the old and the new key; a primary-key change arrives as a delete plus an insert and touches both
 *       ids). An insert invalidates too: it drops a cached "not found".</li>
 *   <li><b>A key the row left is deleted for that key.</b> Before-image keys that are not after-image keys (every key
 *       of a DELETE, the old SKU of an UPDATE) are emitted with {@code rowDeleted=true} and the before image's
 *       version, so the tombstone refuses every fill or set at or below the version that was removed.</li>
 *   <li><b>After-image keys carry the new version only when it moved.</b> An insert carries its version; an update
 *       carries the after image's version only if it is greater than the before image's. An update that did not
 *       bump the version (a console fix, a script) or moved it backwards is emitted unversioned (-1), which always
 *       removes the value: a cached "at least as new" value is exactly what such a write made stale.</li>
 *   <li><b>Versions are never wrapped.</b> A version column value that is negative, not an integer, or above
 *       {@code Long.MAX_VALUE} (a BIGINT UNSIGNED) throws {@link MappingException} naming table, column and value:
 *       the listener stops instead of fencing with a wrong number.</li>
 *   <li><b>Whole-table changes are recognised, not skipped.</b> TRUNCATE (Debezium op {@code t}), DROP TABLE, RENAME
 *       TABLE / ALTER TABLE ... RENAME (from either side), CREATE (OR REPLACE) TABLE, DROP DATABASE and the ALTER
 *       TABLE partition clauses that remove or move rows (TRUNCATE / DROP / EXCHANGE PARTITION, CONVERT PARTITION /
 *       TABLE) of a mapped table yield a {@link TableReset}; schema changes replayed by a snapshot are not changes
 *       and yield none.</li>
 * </ul>
 */
final class ChangeEventMapper {

  /**
   * A row change read off a record: which table, both images, the commit time (the source's {@code ts_ms}: the binlog
   * event's header time, whole seconds on MariaDB), when the connector read it (the envelope's {@code ts_ms}; 0 when
   * absent), Debezium's op (c, u, d, t).
   */
  record RowChange(String database, String table, Struct before, Struct after, long commitMillis, long readMillis,
      String op) {}

  /**
   * A change of a whole mapped table: every key of its namespace may be wrong.
   *
   * @param reason    {@code truncate}, {@code drop}, {@code rename}, {@code create} or {@code partition}
   * @param statement the statement, for logs and errors
   */
  record TableReset(TableMapping mapping, String reason, String statement) {}

  private static final Pattern RENAME = Pattern.compile(
      "(?is)^\\s*(?:RENAME\\s+TABLES?\\b|ALTER\\b.*?\\bTABLE\\b.*\\bRENAME\\b(?!\\s+(?:COLUMN|INDEX|KEY)\\b))");
  private static final Pattern DROP_DATABASE = Pattern.compile("(?is)^\\s*DROP\\s+(?:DATABASE|SCHEMA)\\b");
  /** MariaDB's CREATE OR REPLACE TABLE: Debezium 3.5 reports no table change for it when the table existed. */
  private static final Pattern CREATE_OR_REPLACE = Pattern.compile("(?is)^\\s*CREATE\\s+OR\\s+REPLACE\\s+TABLE\\s+"
      + "(?:IF\\s+NOT\\s+EXISTS\\s+)?(?:(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)\\s*\\.\\s*)?(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)");
  /** ALTER TABLE clauses that remove or move rows without row events. */
  private static final Pattern PARTITION_ROWS = Pattern.compile(
      "(?is)^\\s*ALTER\\b.*\\b(?:(?:TRUNCATE|DROP|EXCHANGE)\\s+PARTITION|CONVERT\\s+(?:PARTITION|TABLE))\\b");
  private static final Pattern QUOTED_ID = Pattern.compile("^\"((?:[^\"]|\"\")*)\"\\.\"((?:[^\"]|\"\")*)\"$");
  private static final BigDecimal LARGEST_VERSION = BigDecimal.valueOf(Long.MAX_VALUE);

  private final InvalidationMappings mappings;
  /** Each mapped table's key templates, parsed once (the mappings hold them as written). */
  private final Map<String, List<KeyTemplate>> templates = new LinkedHashMap<>();

  ChangeEventMapper(InvalidationMappings mappings) {
    this.mappings = mappings;
    for (TableMapping mapping : mappings.tables()) {
      templates.put(mapping.table(), KeyTemplate.of(mapping));
    }
  }

  /** The row change a record carries, or null for heartbeats, schema changes and tombstones. */
  static RowChange rowChange(SourceRecord record) {
    if (!(record.value() instanceof Struct value) || value.schema().field("op") == null
        || value.schema().field("source") == null) {
      return null;
    }
    Struct source = value.getStruct("source");
    Long ts = source.getInt64("ts_ms");
    Long read = value.schema().field("ts_ms") == null ? null : value.getInt64("ts_ms");
    return new RowChange(source.getString("db"), source.getString("table"), optionalStruct(value, "before"),
        optionalStruct(value, "after"), ts == null ? 0 : ts, read == null ? 0 : read, value.getString("op"));
  }

  private static Struct optionalStruct(Struct value, String name) {
    Field field = value.schema().field(name);
    return field == null ? null : value.getStruct(name);
  }

  TableMapping mappingOf(RowChange change) {
    return mappings.forTable(change.database(), change.table());
  }

  /**
   * The mapped tables this record changes as a whole (TRUNCATE, DROP, RENAME, CREATE OR REPLACE, DROP DATABASE), in
   * mapping order; empty for everything else, including schema changes replayed by a snapshot.
   */
  List<TableReset> tableResets(SourceRecord record) {
    if (!(record.value() instanceof Struct value) || value.schema().field("source") == null) {
      return List.of();
    }
    Struct source = value.getStruct("source");
    if (value.schema().field("op") != null) {
      if (!"t".equals(value.getString("op"))) {
        return List.of();
      }
      TableMapping mapping = mappings.forTable(source.getString("db"), source.getString("table"));
      return mapping == null ? List.of() : List.of(new TableReset(mapping, "truncate",
          "TRUNCATE TABLE " + mapping.table()));
    }
    if (value.schema().field("ddl") == null || value.schema().field("tableChanges") == null
        || replayedBySnapshot(source)) {
      return List.of();
    }
    String ddl = String.valueOf(value.getString("ddl"));
    String database = value.schema().field("databaseName") == null ? null : value.getString("databaseName");
    Map<String, TableReset> resets = new LinkedHashMap<>();
    if (database != null && DROP_DATABASE.matcher(ddl).find()) {
      for (TableMapping mapping : mappings.tables()) {
        if (mapping.table().startsWith(database + ".")) {
          resets.putIfAbsent(mapping.table(), new TableReset(mapping, "drop", ddl));
        }
      }
    }
    Matcher replaced = CREATE_OR_REPLACE.matcher(ddl);
    if (replaced.find()) {
      String replacedDatabase = replaced.group(1) == null ? database : unquote(replaced.group(1));
      TableMapping mapping = replacedDatabase == null ? null
          : mappings.forTable(replacedDatabase, unquote(replaced.group(2)));
      if (mapping != null) {
        resets.putIfAbsent(mapping.table(), new TableReset(mapping, "create", ddl));
      }
    }
    boolean rename = RENAME.matcher(ddl).find();
    boolean partitionRows = !rename && PARTITION_ROWS.matcher(ddl).find();
    List<Struct> changes = value.getArray("tableChanges");
    for (Struct change : changes == null ? List.<Struct>of() : changes) {
      String type = String.valueOf(change.getString("type"));
      TableMapping mapping = mappingOfId(change.getString("id"));
      if (mapping == null) {
        continue;
      }
      switch (type) {
        case "DROP" -> resets.putIfAbsent(mapping.table(), new TableReset(mapping, "drop", ddl));
        case "CREATE" -> resets.putIfAbsent(mapping.table(), new TableReset(mapping, "create", ddl));
        case "ALTER" -> {
          if (rename) { // renamed to a mapped name: the mapped table now holds another table's rows
            resets.putIfAbsent(mapping.table(), new TableReset(mapping, "rename", ddl));
          } else if (partitionRows) {
            resets.putIfAbsent(mapping.table(), new TableReset(mapping, "partition", ddl));
          }
        }
        default -> { }
      }
    }
    if ((rename || partitionRows) && database != null) {
      // Renamed from a mapped name, or a partition exchanged with / converted from a mapped table: only the statement
      // names that table. A name that merely appears in the statement flushes too: a flush too many is harmless.
      for (TableMapping mapping : mappings.tables()) {
        String name = mapping.table().substring(mapping.table().indexOf('.') + 1);
        if (mapping.table().startsWith(database + ".") && namesIdentifier(ddl, name)) {
          resets.putIfAbsent(mapping.table(), new TableReset(mapping, rename ? "rename" : "partition", ddl));
        }
      }
    }
    return List.copyOf(resets.values());
  }

  /** Schema changes a (no-data) snapshot emits describe the tables as they are; they change nothing. */
  private static boolean replayedBySnapshot(Struct source) {
    if (source.schema().field("snapshot") == null) {
      return false;
    }
    String snapshot = source.getString("snapshot");
    return snapshot != null && !snapshot.equals("false");
  }

  /** {@code "db"."table"} (Debezium's table id) to its mapping, or null. */
  private TableMapping mappingOfId(String id) {
    if (id == null) {
      return null;
    }
    Matcher m = QUOTED_ID.matcher(id);
    if (m.matches()) {
      return mappings.forTable(m.group(1).replace("\"\"", "\""), m.group(2).replace("\"\"", "\""));
    }
    int dot = id.indexOf('.');
    return dot < 0 ? null : mappings.forTable(id.substring(0, dot), id.substring(dot + 1));
  }

  private static String unquote(String identifier) {
    return identifier.startsWith("`") ? identifier.substring(1, identifier.length() - 1).replace("``", "`")
        : identifier;
  }

  /** The statement names {@code name} as an identifier (bare, quoted or qualified), not as part of a longer name. */
  private static boolean namesIdentifier(String ddl, String name) {
    return Pattern.compile("(?<![A-Za-z0-9_$])" + Pattern.quote(name) + "(?![A-Za-z0-9_$])").matcher(ddl).find();
  }

  /**
   * The invalidations of a mapped row change, in key order: keys the row left (deleted for that key, before
   * version), then the after image's keys (see the class comment for their version).
   */
  List<KeyInvalidation> invalidations(RowChange change, TableMapping mapping) {
    Set<String> beforeKeys = keys(change.before(), mapping);
    Set<String> afterKeys = keys(change.after(), mapping);
    long beforeVersion = change.before() == null ? -1 : version(change.before(), mapping);
    long afterVersion = change.after() == null ? -1 : version(change.after(), mapping);
    long afterKeysVersion;
    if (change.before() == null) {
      afterKeysVersion = afterVersion; // an insert
    } else {
      afterKeysVersion = beforeVersion >= 0 && afterVersion > beforeVersion ? afterVersion : -1;
    }
    long tombstoneMillis = mapping.tombstoneTtl().toMillis();
    List<KeyInvalidation> result = new ArrayList<>(beforeKeys.size() + afterKeys.size());
    for (String key : beforeKeys) {
      if (!afterKeys.contains(key)) {
        result.add(new KeyInvalidation(mapping.namespace(), key, beforeVersion, true, tombstoneMillis));
      }
    }
    for (String key : afterKeys) {
      result.add(new KeyInvalidation(mapping.namespace(), key, afterKeysVersion, false, tombstoneMillis));
    }
    return result;
  }

  private Set<String> keys(Struct image, TableMapping mapping) {
    Set<String> keys = new LinkedHashSet<>();
    if (image == null) {
      return keys;
    }
    for (KeyTemplate template : templates.get(mapping.table())) {
      String key = template.render(image, mapping.table());
      if (key != null) {
        keys.add(key);
      }
    }
    return keys;
  }

  /** The image's version, or -1 when the mapping has none or the column is NULL. */
  private static long version(Struct row, TableMapping mapping) {
    if (!mapping.versioned()) {
      return -1;
    }
    Field field = KeyTemplate.field(row, mapping.versionColumn());
    if (field == null) {
      throw new MappingException("table " + mapping.table() + ": version column '" + mapping.versionColumn()
          + "' is not in the row");
    }
    Object value = row.get(field);
    if (value == null) {
      return -1;
    }
    if (value instanceof BigDecimal decimal) { // BIGINT UNSIGNED, with bigint.unsigned.handling.mode=precise
      if (decimal.signum() < 0 || decimal.stripTrailingZeros().scale() > 0) {
        throw notAVersion(mapping, value);
      }
      if (decimal.compareTo(LARGEST_VERSION) > 0) {
        throw new MappingException("table " + mapping.table() + ": version column '" + mapping.versionColumn()
            + "' holds " + decimal.toPlainString() + ", above " + Long.MAX_VALUE + ", the largest version a "
            + "tombstone can carry; stopping rather than wrapping it into a wrong fence");
      }
      return decimal.longValueExact();
    }
    if (value instanceof Byte || value instanceof Short || value instanceof Integer || value instanceof Long) {
      long version = ((Number) value).longValue();
      if (version < 0) {
        throw notAVersion(mapping, value);
      }
      return version;
    }
    throw notAVersion(mapping, value);
  }

  private static MappingException notAVersion(TableMapping mapping, Object value) {
    return new MappingException("table " + mapping.table() + ": version column '" + mapping.versionColumn()
        + "' must hold an integer >= 0, was " + value + " (" + value.getClass().getSimpleName() + ")");
  }
}
