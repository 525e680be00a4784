package dev.veracache.cdc.internal;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How one placeholder of a key template renders its column: {@code {column}} ({@link #DEFAULT}) or
 * {@code {column:format}}. Each format fits one kind of column; {@link KeyRendering} checks the fit at start and
 * renders the values.
 */
enum KeyFormat {
  /** {@code {column}}: the way Java renders the column's natural type (see the README's rendering table). */
  DEFAULT(""),
  /** Text in lower case ({@code Locale.ROOT}): for case-insensitive columns whose application lower-cases keys. */
  LOWER("lower"),
  /** Text in upper case ({@code Locale.ROOT}). */
  UPPER("upper"),
  /** Text exactly as stored, also for a case-insensitive column: the application always uses the stored spelling. */
  ASIS("asis"),
  /** Bytes as lower-case hexadecimal ({@code java.util.HexFormat}). */
  HEX("hex"),
  /** Bytes as standard Base64 with padding ({@code java.util.Base64.getEncoder()}). */
  BASE64("base64"),
  /** 16 bytes as {@code java.util.UUID.toString()} (first 8 bytes the most significant half). */
  UUID("uuid"),
  /** A decimal with the column's scale: {@code BigDecimal.toPlainString()} ({@code 10.50}); same as the default. */
  PLAIN("plain"),
  /** A decimal without trailing zeros: {@code stripTrailingZeros().toPlainString()} ({@code 10.5}, {@code 100}). */
  STRIP("strip");

  final String spelling;

  KeyFormat(String spelling) {
    this.spelling = spelling;
  }

  /** @throws IllegalArgumentException naming the table, the template and the unknown format */
  static KeyFormat parse(String spelling, String table, String template, String column) {
    for (KeyFormat format : values()) {
      if (format != DEFAULT && format.spelling.equals(spelling)) {
        return format;
      }
    }
    throw new IllegalArgumentException("table " + table + ": key template '" + template + "' gives column '" + column
        + "' the unknown format '" + spelling + "'; the formats are " + names());
  }

  static String names() {
    return Arrays.stream(values()).filter(f -> f != DEFAULT).map(f -> f.spelling)
        .collect(Collectors.joining(", "));
  }
}
