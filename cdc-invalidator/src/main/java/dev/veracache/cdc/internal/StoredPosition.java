package dev.veracache.cdc.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The position one listener stored through Kafka Connect's offset stores (Debezium's offsets), read at start: whether
 * there is one at all (none = a first start, or a lost position), and the binlog file it names, to see whether the
 * server still has it (Debezium only warns when it does not, and with MariaDB GTIDs it may carry on past the purged
 * events).
 *
 * <p>An offset is a JSON key {@code ["<engine name>", {"server": "<topic prefix>"}]} and a JSON value with
 * {@code file}, {@code pos}, {@code gtids}...; only the entry whose key names this listener counts, as only that one is
 * what Debezium resumes from.
 *
 * <p>An offset stored while Debezium's start-up snapshot ran (it carries {@code "snapshot"} and no
 * {@code "snapshot_completed": true}) is not a position Debezium resumes from: it takes a new snapshot at the server's
 * <em>current</em> position, so every change made since that earlier run started is skipped. A listener stores such an
 * offset with the first batch after its start and replaces it with a streaming position at the next offset flush; one
 * that crashed in between (up to {@code offsetFlushInterval} after its first batch) leaves it behind.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * @param binlogFile the binlog file the position names; empty if the stored offset names none
 * @param snapshotUnfinished the stored offset is one of a start-up snapshot: Debezium does not resume from it
 */
public record StoredPosition(Optional<String> binlogFile, boolean snapshotUnfinished) {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /**
   * FILE storage: the file {@code FileOffsetBackingStore} wrote (a serialized map of JSON keys to JSON values, as
   * bytes). Empty when the file is missing, empty, or holds no offset of this listener.
   */
  public static Optional<StoredPosition> fromFile(Path offsetsFile, String listener) throws IOException {
    if (!Files.isRegularFile(offsetsFile) || Files.size(offsetsFile) == 0) {
      return Optional.empty();
    }
    Object stored;
    try (InputStream in = Files.newInputStream(offsetsFile); ObjectInputStream objects = new ObjectInputStream(in)) {
      stored = objects.readObject();
    } catch (ClassNotFoundException e) {
      throw new IOException("unreadable offset file " + offsetsFile, e);
    }
    if (!(stored instanceof Map<?, ?> map)) {
      throw new IOException("unreadable offset file " + offsetsFile + ": not a map");
    }
    Map<String, String> offsets = new LinkedHashMap<>();
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      if (entry.getKey() instanceof byte[] key && entry.getValue() instanceof byte[] value) {
        offsets.put(new String(key, StandardCharsets.UTF_8), new String(value, StandardCharsets.UTF_8));
      }
    }
    return fromJson(offsets, listener);
  }

  /** REDIS (hash fields) and JDBC (rows) storage: JSON keys to JSON values. */
  static Optional<StoredPosition> fromJson(Map<String, String> offsets, String listener) {
    for (Map.Entry<String, String> entry : offsets.entrySet()) {
      if (entry.getValue() != null && namesListener(entry.getKey(), listener)) {
        JsonNode value = JSON.readTree(entry.getValue());
        if (value == null || !value.isObject()) {
          return Optional.of(new StoredPosition(Optional.empty(), false));
        }
        return Optional.of(new StoredPosition(
            value.hasNonNull("file") ? Optional.of(value.get("file").asString()) : Optional.empty(),
            snapshotUnfinished(value)));
      }
    }
    return Optional.empty();
  }

  /**
   * Debezium's own test (binlog connectors): a {@code snapshot} entry that is not false, without
   * {@code snapshot_completed} true. Older versions wrote {@code true}, newer ones the snapshot kind ({@code INITIAL}).
   */
  private static boolean snapshotUnfinished(JsonNode value) {
    JsonNode snapshot = value.get("snapshot");
    if (snapshot == null || snapshot.isNull() || "false".equalsIgnoreCase(snapshot.asString())) {
      return false;
    }
    JsonNode completed = value.get("snapshot_completed");
    return completed == null || !"true".equalsIgnoreCase(completed.asString());
  }

  /** True if {@code key} is {@code ["<listener>", ...]}. */
  static boolean namesListener(String key, String listener) {
    if (key == null) {
      return false;
    }
    try {
      JsonNode node = JSON.readTree(key);
      return node != null && node.isArray() && !node.isEmpty() && listener.equals(node.get(0).asString());
    } catch (JacksonException e) {
      return false;
    }
  }
}
