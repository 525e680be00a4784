package dev.veracache.cdc;

import dev.veracache.RedisInvalidator.KeyInvalidation;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Turns one Debezium change event into the invalidations it implies: every key of the mapping, rendered from the
 * before image and from the after image (a changed SKU invalidates the old and the new key; a primary-key change
 * arrives as a delete plus an insert and invalidates both ids). An insert invalidates too: it drops a cached
 * "not found". The version is the after image's version column; a delete is unversioned (the strongest invalidation).
 */
final class ChangeEventMapper {

  /** A row change read off a record: which table, both images, the commit time. */
  record RowChange(String database, String table, Struct before, Struct after, long commitMillis) {}

  private final InvalidationMappings mappings;

  ChangeEventMapper(InvalidationMappings mappings) {
    this.mappings = mappings;
  }

  /** The row change a record carries, or null for heartbeats, schema changes and tombstones. */
  static RowChange rowChange(SourceRecord record) {
    if (!(record.value() instanceof Struct value) || value.schema().field("op") == null
        || value.schema().field("source") == null) {
      return null;
    }
    Struct source = value.getStruct("source");
    Long ts = source.getInt64("ts_ms");
    return new RowChange(source.getString("db"), source.getString("table"), optionalStruct(value, "before"),
        optionalStruct(value, "after"), ts == null ? 0 : ts);
  }

  private static Struct optionalStruct(Struct value, String name) {
    Field field = value.schema().field(name);
    return field == null ? null : value.getStruct(name);
  }

  TableMapping mappingOf(RowChange change) {
    return mappings.forTable(change.database(), change.table());
  }

  /** The invalidations of a mapped change, in key order: before-image keys, then new after-image keys. */
  List<KeyInvalidation> invalidations(RowChange change, TableMapping mapping) {
    String table = mapping.table();
    long version = change.after() == null || !mapping.versioned() ? -1 : version(change.after(), mapping);
    Set<String> keys = new LinkedHashSet<>();
    for (Struct image : new Struct[] {change.before(), change.after()}) {
      if (image == null) {
        continue;
      }
      for (KeyTemplate template : mapping.keys()) {
        String key = template.render(image, table);
        if (key != null) {
          keys.add(key);
        }
      }
    }
    List<KeyInvalidation> result = new ArrayList<>(keys.size());
    long tombstoneMillis = mapping.tombstoneTtl().toMillis();
    for (String key : keys) {
      result.add(new KeyInvalidation(mapping.namespace(), key, version, tombstoneMillis));
    }
    return result;
  }

  private static long version(Struct row, TableMapping mapping) {
    Field field = row.schema().field(mapping.versionColumn());
    if (field == null) {
      throw new MappingException("table " + mapping.table() + ": version column '" + mapping.versionColumn()
          + "' is not in the row");
    }
    Object value = row.get(field);
    if (value == null) {
      return -1;
    }
    if (!(value instanceof Number n) || n.longValue() < 0) {
      throw new MappingException("table " + mapping.table() + ": version column '" + mapping.versionColumn()
          + "' must hold a number >= 0, was " + value);
    }
    return n.longValue();
  }
}
