package dev.veracache.cdc.internal;

import java.util.regex.Pattern;

/**
 * Masks credentials in text that leaves the process (logs, health details): Debezium puts its whole configuration into
 * some of its error messages.
 */
final class Secrets {

  private static final Pattern SECRET = Pattern.compile("(?i)([a-z._]*(password|secret)[a-z._]*)=([^,}\\s]*)");

  private Secrets() {}

  static String mask(String text) {
    return text == null ? null : SECRET.matcher(text).replaceAll("$1=***");
  }
}
