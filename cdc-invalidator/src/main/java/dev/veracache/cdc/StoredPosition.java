package dev.veracache.cdc;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads the binlog file name out of the offset file Kafka Connect's {@code FileOffsetBackingStore} wrote (a serialized
 * map of JSON keys to JSON values). Used at start to see whether the stored position still exists on the server:
 * Debezium only warns when it does not, and with MariaDB GTIDs it may carry on past the purged events.
 */
final class StoredPosition {

  private StoredPosition() {}

  /** The binlog file of the stored position, if any. */
  static Optional<String> binlogFile(Path offsetsFile) throws IOException {
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
    JsonMapper json = JsonMapper.builder().build();
    for (Object value : map.values()) {
      if (value instanceof byte[] bytes) {
        JsonNode node = json.readTree(bytes);
        if (node != null && node.hasNonNull("file")) {
          return Optional.of(node.get("file").asString());
        }
      }
    }
    return Optional.empty();
  }
}
