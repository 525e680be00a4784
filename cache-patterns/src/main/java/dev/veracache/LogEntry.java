package dev.veracache;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * One write-behind write as the Kafka log holds it: the record's key is the cache key's text (so one key's writes share
 * a partition, in order), its value the codec's bytes ({@code null} for a delete), and three headers say which cache
 * wrote it, the operation and the version the write reserved.
 *
 * <p>Invariants: the version is a canonical decimal {@code >= 0}; a record whose headers do not parse is not a
 * Veracache write and is never applied ({@link #parse} throws, naming what is wrong, and the flusher dead-letters it).
 */
record LogEntry(String namespace, String key, Operation operation, long version, byte[] payload) {

  static final String NAMESPACE_HEADER = "veracache.cache";
  static final String OPERATION_HEADER = "veracache.op";
  static final String VERSION_HEADER = "veracache.version";
  static final String ERROR_HEADER = "veracache.error";
  static final String SOURCE_HEADER = "veracache.source";

  enum Operation {
    PUT,
    DELETE
  }

  Headers headers() {
    RecordHeaders headers = new RecordHeaders();
    headers.add(NAMESPACE_HEADER, utf8(namespace));
    headers.add(OPERATION_HEADER, utf8(operation.name()));
    headers.add(VERSION_HEADER, utf8(Long.toString(version)));
    return headers;
  }

  /**
   * Reads a record of the log.
   *
   * @throws IllegalArgumentException naming the record's position and what is missing or malformed
   */
  static LogEntry parse(ConsumerRecord<String, byte[]> record) {
    String where = record.topic() + "-" + record.partition() + "@" + record.offset();
    String namespace = header(record, NAMESPACE_HEADER, where);
    String op = header(record, OPERATION_HEADER, where);
    String versionText = header(record, VERSION_HEADER, where);
    Operation operation;
    try {
      operation = Operation.valueOf(op);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("log record " + where + ": header " + OPERATION_HEADER + " is '" + op
          + "', not PUT or DELETE");
    }
    long version;
    try {
      version = Long.parseLong(versionText);
    } catch (NumberFormatException e) {
      version = -1;
    }
    if (version < 0 || !Long.toString(version).equals(versionText)) {
      throw new IllegalArgumentException("log record " + where + ": header " + VERSION_HEADER + " is '" + versionText
          + "', not a version (a decimal >= 0)");
    }
    if (record.key() == null) {
      throw new IllegalArgumentException("log record " + where + " has no key");
    }
    if (operation == Operation.PUT && record.value() == null) {
      throw new IllegalArgumentException("log record " + where + ": a PUT without a value");
    }
    return new LogEntry(namespace, record.key(), operation, version, record.value());
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name, String where) {
    return header(record, name, "log record " + where, "a Veracache write-behind cache");
  }

  /** A header's text; {@code what} names the record, {@code writer} what should have written it. */
  static String header(ConsumerRecord<String, byte[]> record, String name, String what, String writer) {
    Header header = record.headers().lastHeader(name);
    if (header == null || header.value() == null) {
      throw new IllegalArgumentException(what + " has no header " + name + " (not written by " + writer + ")");
    }
    return new String(header.value(), StandardCharsets.UTF_8);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
