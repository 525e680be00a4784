package dev.veracache.cdc.internal;

import dev.veracache.cdc.MappingException;
import dev.veracache.cdc.internal.ColumnType.Family;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.connect.data.Schema;

/**
 * Renders a key column's value the way Java code renders the same value, so the listener invalidates the key the
 * application cached. Two halves that must agree:
 *
 * <ul>
 *   <li>{@link #check} runs at start against {@code information_schema}: it refuses every column a template cannot
 *       render faithfully, naming table, column and type, and says which format would do.</li>
 *   <li>{@link #render} runs per change on the value Debezium emits, dispatching on the field's Connect schema name
 *       (Debezium's logical types: {@code io.debezium.time.Date} is days since the epoch, {@code MicroTimestamp} is
 *       microseconds, a {@code Decimal} carries its scale, ...), never on {@code toString()} of whatever arrived.</li>
 * </ul>
 *
 * <p>Invariants:
 * <ul>
 *   <li>A value is rendered only by a rule written for its Debezium type; any other type (a column whose type changed
 *       under a running listener) throws {@link MappingException} naming table, template and column: a key the
 *       application never uses would drop nothing and be a silent miss.</li>
 *   <li>Default rendering: DATE {@code LocalDate.toString()}, DATETIME {@code LocalDateTime.toString()} (drops zero
 *       seconds, as Java does), TIMESTAMP {@code Instant.toString()} (UTC), TIME {@code LocalTime.toString()},
 *       DECIMAL {@code toPlainString()} with the column's scale, integers (signed or unsigned, YEAR, TINYINT(1)) as
 *       decimal digits, text, ENUM and SET as stored. Binary needs {@code hex}, {@code base64} or {@code uuid}.</li>
 *   <li>The listener's Debezium settings must be the ones this class decodes: {@code bigint.unsigned.handling.mode=
 *       precise}, {@code decimal.handling.mode=precise}, {@code time.precision.mode=adaptive_time_microseconds},
 *       {@code binary.handling.mode=bytes} (set in {@code CdcInvalidator}).</li>
 * </ul>
 */
final class KeyRendering {

  private KeyRendering() {}

  /** The formats that fit each kind of column (DEFAULT means {@code {column}}). */
  private static Set<KeyFormat> formatsFor(Family family) {
    return switch (family) {
      case INTEGER, DATE, DATETIME, TIMESTAMP, TIME -> EnumSet.of(KeyFormat.DEFAULT);
      case DECIMAL -> EnumSet.of(KeyFormat.DEFAULT, KeyFormat.PLAIN, KeyFormat.STRIP);
      case STRING, ENUM_OR_SET -> EnumSet.of(KeyFormat.DEFAULT, KeyFormat.LOWER, KeyFormat.UPPER, KeyFormat.ASIS);
      case BINARY -> EnumSet.of(KeyFormat.HEX, KeyFormat.BASE64, KeyFormat.UUID);
      case UNSUPPORTED -> EnumSet.noneOf(KeyFormat.class);
    };
  }

  /**
   * At start: can this placeholder render this column faithfully?
   *
   * @throws IllegalArgumentException naming table, template, column and type, and what to write instead
   */
  static void check(String table, String template, String column, KeyFormat format, ColumnType type) {
    String where = "table " + table + ": key template '" + template + "': column '" + column + "' ("
        + type.describe() + ")";
    Family family = type.family();
    if (family == Family.UNSUPPORTED) {
      throw new IllegalArgumentException(where + " cannot be a key column: a " + type.dataType() + " has no single "
          + "text form an application would key by (FLOAT/DOUBLE values are approximate; BIT, JSON and geometry have "
          + "no canonical text; MariaDB's UUID/INET types are not read by Debezium 3.5). Key by another column");
    }
    if (family == Family.BINARY && format == KeyFormat.DEFAULT) {
      throw new IllegalArgumentException(where + " is binary and has no text form of its own: write {" + column
          + ":hex}, {" + column + ":base64} or, for a BINARY(16) UUID, {" + column + ":uuid}, as the application "
          + "encodes it");
    }
    if (!formatsFor(family).contains(format)) {
      throw new IllegalArgumentException(where + ": format '" + format.spelling + "' does not apply to a "
          + type.dataType() + " column; it takes " + spelled(column, formatsFor(family)));
    }
    if (format == KeyFormat.UUID && !type.sixteenBytes()) {
      throw new IllegalArgumentException(where + ": format 'uuid' needs a BINARY(16) column (exactly 16 bytes); "
          + "write {" + column + ":hex} or {" + column + ":base64}");
    }
    if (format == KeyFormat.DEFAULT && type.caseInsensitive()) {
      throw new IllegalArgumentException(where + " has a case-insensitive collation, so 'ABC' and 'abc' find the "
          + "same row and the application may cache it under either: write {" + column + ":lower} or {" + column
          + ":upper} if the application normalises keys that way, or {" + column + ":asis} if it always uses the "
          + "stored spelling (or give the column a case-sensitive collation such as utf8mb4_bin)");
    }
  }

  /**
   * At start: a version column must be an integer type.
   *
   * @throws IllegalArgumentException naming table, column and type
   */
  static void checkVersion(String table, String column, ColumnType type) {
    if (!type.isInteger()) {
      throw new IllegalArgumentException("table " + table + ": field 'version' names column '" + column + "' of type "
          + type.describe() + "; a version column must be an integer type (TINYINT, SMALLINT, MEDIUMINT, INT or "
          + "BIGINT, signed or UNSIGNED)");
    }
  }

  private static String spelled(String column, Set<KeyFormat> formats) {
    return formats.stream().map(f -> f == KeyFormat.DEFAULT ? "{" + column + "}" : "{" + column + ":" + f.spelling
        + "}").collect(Collectors.joining(", "));
  }

  /**
   * At run time: the text of one non-null column value, as Java renders it.
   *
   * @throws MappingException naming table, template and column when the value is not of a type this placeholder can
   *     render (the column's type changed under the mapping), or a TIME outside a day
   */
  static String render(String table, String template, String column, KeyFormat format, Schema schema, Object value) {
    String name = schema.name() == null ? "" : schema.name();
    try {
      switch (name) {
        case "org.apache.kafka.connect.data.Decimal": {
          BigDecimal decimal = (BigDecimal) value;
          return switch (format) {
            case DEFAULT, PLAIN -> decimal.toPlainString();
            case STRIP -> decimal.stripTrailingZeros().toPlainString();
            default -> throw mismatch(table, template, column, format, schema);
          };
        }
        case "io.debezium.time.Date":
          return defaultOnly(format, table, template, column, schema,
              LocalDate.ofEpochDay(((Number) value).longValue()).toString());
        case "org.apache.kafka.connect.data.Date":
          return defaultOnly(format, table, template, column, schema,
              LocalDate.ofInstant(((java.util.Date) value).toInstant(), ZoneOffset.UTC).toString());
        case "io.debezium.time.Timestamp":
          return defaultOnly(format, table, template, column, schema,
              localDateTime(Instant.ofEpochMilli(((Number) value).longValue())));
        case "io.debezium.time.MicroTimestamp":
          return defaultOnly(format, table, template, column, schema, localDateTime(ofEpochNanos(
              ((Number) value).longValue(), 1_000)));
        case "io.debezium.time.NanoTimestamp":
          return defaultOnly(format, table, template, column, schema, localDateTime(ofEpochNanos(
              ((Number) value).longValue(), 1)));
        case "org.apache.kafka.connect.data.Timestamp":
          return defaultOnly(format, table, template, column, schema,
              localDateTime(((java.util.Date) value).toInstant()));
        case "io.debezium.time.ZonedTimestamp":
          return defaultOnly(format, table, template, column, schema,
              OffsetDateTime.parse((String) value).toInstant().toString());
        case "io.debezium.time.Time":
          return time(table, template, column, format, schema, ((Number) value).longValue() * 1_000_000);
        case "io.debezium.time.MicroTime":
          return time(table, template, column, format, schema, ((Number) value).longValue() * 1_000);
        case "io.debezium.time.NanoTime":
          return time(table, template, column, format, schema, ((Number) value).longValue());
        case "org.apache.kafka.connect.data.Time":
          return time(table, template, column, format, schema, connectTimeNanos(value));
        case "io.debezium.time.Year":
          return defaultOnly(format, table, template, column, schema, value.toString());
        case "io.debezium.data.Enum", "io.debezium.data.EnumSet":
          return text(table, template, column, format, schema, (String) value);
        case "":
          return plain(table, template, column, format, schema, value);
        default:
          throw mismatch(table, template, column, format, schema);
      }
    } catch (ClassCastException | DateTimeParseException e) {
      throw new MappingException("table " + table + ": key template '" + template + "': column '" + column
          + "' holds " + value.getClass().getSimpleName() + " '" + value + "', not what its Debezium type " + name
          + " promises: " + e.getMessage());
    }
  }

  /** Kafka Connect's Time: milliseconds since midnight, as a {@code java.util.Date}; in nanoseconds. */
  @SuppressWarnings("JavaUtilDate") // the value type is Kafka Connect's, not ours: Debezium hands us this Date
  private static long connectTimeNanos(Object value) {
    return ((java.util.Date) value).getTime() * 1_000_000;
  }

  /** Connect types without a logical name: integers, booleans, text, bytes. */
  private static String plain(String table, String template, String column, KeyFormat format, Schema schema,
      Object value) {
    return switch (schema.type()) {
      case INT8, INT16, INT32, INT64 -> defaultOnly(format, table, template, column, schema, value.toString());
      // A BOOLEAN-declared column is a TINYINT(1); Debezium may emit it as a boolean: render it as its digit.
      case BOOLEAN -> defaultOnly(format, table, template, column, schema, ((Boolean) value) ? "1" : "0");
      case STRING -> text(table, template, column, format, schema, (String) value);
      case BYTES -> bytes(table, template, column, format, value);
      default -> throw mismatch(table, template, column, format, schema);
    };
  }

  /** Types with exactly one rendering: only {@code {column}} fits. */
  private static String defaultOnly(KeyFormat format, String table, String template, String column, Schema schema,
      String rendered) {
    if (format != KeyFormat.DEFAULT) {
      throw mismatch(table, template, column, format, schema);
    }
    return rendered;
  }

  private static String text(String table, String template, String column, KeyFormat format, Schema schema,
      String value) {
    return switch (format) {
      case DEFAULT, ASIS -> value;
      case LOWER -> value.toLowerCase(Locale.ROOT);
      case UPPER -> value.toUpperCase(Locale.ROOT);
      default -> throw mismatch(table, template, column, format, schema);
    };
  }

  private static String bytes(String table, String template, String column, KeyFormat format, Object value) {
    byte[] bytes;
    if (value instanceof ByteBuffer buffer) {
      ByteBuffer copy = buffer.duplicate();
      bytes = new byte[copy.remaining()];
      copy.get(bytes);
    } else {
      bytes = (byte[]) value;
    }
    return switch (format) {
      case HEX -> HexFormat.of().formatHex(bytes);
      case BASE64 -> Base64.getEncoder().encodeToString(bytes);
      case UUID -> {
        if (bytes.length != 16) {
          throw new MappingException("table " + table + ": key template '" + template + "': column '" + column
              + "' holds " + bytes.length + " bytes (" + HexFormat.of().formatHex(bytes) + "); format 'uuid' needs "
              + "exactly 16");
        }
        ByteBuffer halves = ByteBuffer.wrap(bytes);
        yield new java.util.UUID(halves.getLong(), halves.getLong()).toString();
      }
      default -> throw new MappingException("table " + table + ": key template '" + template + "': column '"
          + column + "' holds bytes, which have no text form of their own: write {" + column + ":hex}, {" + column
          + ":base64} or {" + column + ":uuid}");
    };
  }

  private static String time(String table, String template, String column, KeyFormat format, Schema schema,
      long nanosOfDay) {
    if (nanosOfDay < 0 || nanosOfDay >= Duration.ofDays(1).toNanos()) {
      throw new MappingException("table " + table + ": key template '" + template + "': column '" + column
          + "' holds the TIME " + Duration.ofNanos(nanosOfDay) + ", outside 00:00..24:00, which a "
          + "java.time.LocalTime key cannot hold");
    }
    return defaultOnly(format, table, template, column, schema, LocalTime.ofNanoOfDay(nanosOfDay).toString());
  }

  private static Instant ofEpochNanos(long amount, long nanosPerUnit) {
    long perSecond = 1_000_000_000L / nanosPerUnit;
    return Instant.ofEpochSecond(Math.floorDiv(amount, perSecond), Math.floorMod(amount, perSecond) * nanosPerUnit);
  }

  /** DATETIME has no zone: Debezium encodes its wall-clock reading as if it were UTC. */
  private static String localDateTime(Instant asIfUtc) {
    return LocalDateTime.ofInstant(asIfUtc, ZoneOffset.UTC).toString();
  }

  private static MappingException mismatch(String table, String template, String column, KeyFormat format,
      Schema schema) {
    String type = schema.name() == null ? schema.type().toString() : schema.name() + " (" + schema.type() + ")";
    return new MappingException("table " + table + ": key template '" + template + "': column '" + column
        + "' arrives as Debezium type " + type + ", which " + (format == KeyFormat.DEFAULT ? "{" + column + "}"
        : "format '" + format.spelling + "'") + " cannot render faithfully (did the column's type change? the "
        + "start-up check would refuse this mapping now)");
  }
}
