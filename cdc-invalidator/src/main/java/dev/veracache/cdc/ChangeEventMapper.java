package dev.veracache.cdc;

import dev.veracache.RedisInvalidator.KeyInvalidation;
import java.math.BigDecimal;
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
 *
 * <p>Versions are never wrapped: a version column value that is negative, not an integer, or above
 * {@code Long.MAX_VALUE} (a BIGINT UNSIGNED) throws {@link MappingException} naming table, column and value, so the
 * listener stops instead of fencing with a wrong number.
 */
final class ChangeEventMapper {

  /** A row change read off a record: which table, both images, the commit time. */
  record RowChange(String database, String table, Struct before, Struct after, long commitMillis) {}

  private static final BigDecimal LARGEST_VERSION = BigDecimal.valueOf(Long.MAX_VALUE);

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
