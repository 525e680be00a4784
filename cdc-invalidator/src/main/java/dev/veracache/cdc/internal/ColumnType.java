package dev.veracache.cdc.internal;

import java.util.Locale;
import java.util.Set;

/**
 * A column's type as {@code information_schema.COLUMNS} describes it, read at start to decide whether a key template
 * or a version column can use it.
 *
 * @param name          the column name as the table spells it
 * @param dataType      {@code DATA_TYPE}, lower case: {@code varchar}, {@code bigint}, {@code binary}, ...
 * @param columnType    {@code COLUMN_TYPE}, lower case: {@code varchar(40)}, {@code bigint(20) unsigned}, ...
 * @param collation     {@code COLLATION_NAME}, or null for columns that are not text
 * @param octetLength   {@code CHARACTER_OCTET_LENGTH}, or null: the byte length of a binary column
 */
record ColumnType(String name, String dataType, String columnType, String collation, Long octetLength) {

  /** How a column's values can be rendered into a key. */
  enum Family {
    INTEGER, DECIMAL, DATE, DATETIME, TIMESTAMP, TIME, STRING, ENUM_OR_SET, BINARY,
    /** FLOAT, DOUBLE, BIT, JSON, geometry, MariaDB's UUID/INET4/INET6 and anything not known: never a key. */
    UNSUPPORTED
  }

  private static final Set<String> INTEGERS = Set.of("tinyint", "smallint", "mediumint", "int", "integer", "bigint");
  private static final Set<String> STRINGS = Set.of("char", "varchar", "tinytext", "text", "mediumtext", "longtext");
  private static final Set<String> BINARIES = Set.of("binary", "varbinary", "tinyblob", "blob", "mediumblob",
      "longblob");

  ColumnType {
    dataType = dataType.toLowerCase(Locale.ROOT);
    columnType = columnType.toLowerCase(Locale.ROOT);
  }

  Family family() {
    if (INTEGERS.contains(dataType) || dataType.equals("year")) {
      return Family.INTEGER;
    }
    if (STRINGS.contains(dataType)) {
      return Family.STRING;
    }
    if (BINARIES.contains(dataType)) {
      return Family.BINARY;
    }
    return switch (dataType) {
      case "decimal", "numeric" -> Family.DECIMAL;
      case "date" -> Family.DATE;
      case "datetime" -> Family.DATETIME;
      case "timestamp" -> Family.TIMESTAMP;
      case "time" -> Family.TIME;
      case "enum", "set" -> Family.ENUM_OR_SET;
      default -> Family.UNSUPPORTED;
    };
  }

  /** An integer type (TINYINT..BIGINT, signed or not): the only kind a version column may have. */
  boolean isInteger() {
    return INTEGERS.contains(dataType);
  }

  /**
   * A text column whose collation ignores case ({@code *_ci}): {@code 'ABC'} and {@code 'abc'} find the same row, so
   * an application may cache it under either spelling.
   */
  boolean caseInsensitive() {
    return family() == Family.STRING && collation != null && collation.toLowerCase(Locale.ROOT).endsWith("_ci");
  }

  /** A fixed 16-byte binary column ({@code BINARY(16)}): what a UUID is stored in. */
  boolean sixteenBytes() {
    return dataType.equals("binary") && octetLength != null && octetLength == 16;
  }

  /** {@code varchar(40) collate utf8mb4_general_ci}, for error messages. */
  String describe() {
    return collation == null || family() != Family.STRING ? columnType : columnType + " collate " + collation;
  }
}
