package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Internal: not part of the API; may change in any release.
 *
 * <p>The listener's durable state, in the store its offsets live in ({@link CdcOptions.OffsetStorage}): the stored
 * position (read at start, deleted after a purged position) and the <b>flush duty</b>, a note that the mapped
 * namespaces must be flushed once the listener is live because invalidations may have been lost.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The duty is stored before the position it protects can move</b>: before a purged position is deleted,
 *       and before an engine starts without a stored position (it stores a new one within its first batch). It is
 *       cleared only after every mapped namespace was flushed. A listener stopped anywhere in between (crash,
 *       close, kill) finds the duty on its next start and flushes then: at least once.</li>
 *   <li><b>The duty lives next to the offsets</b> (FILE: {@code flush-pending} in the state directory; REDIS: key
 *       {@code veracache:cdc:<name>:flush-pending}; JDBC: a row of {@code veracache_cdc_flush_duty} in the marker
 *       database). A store that loses one loses both, and a lost position is a first start, which flushes unless the
 *       operator said {@link CdcOptions.FirstStartPolicy#ASSUME_FRESH_INSTALL}.</li>
 *   <li><b>Every failure names the store</b> (file, Redis key, table) and is thrown as {@link IllegalStateException};
 *       the caller decides between failing the start and retrying.</li>
 * </ul>
 */
public abstract class ListenerState implements AutoCloseable {

  /** JDBC offsets and schema history tables (named in the engine properties) and the flush duty table. */
  static final String JDBC_OFFSETS_TABLE = "veracache_cdc_offsets";
  static final String JDBC_SCHEMA_HISTORY_TABLE = "veracache_cdc_schema_history";
  static final String JDBC_FLUSH_DUTY_TABLE = "veracache_cdc_flush_duty";

  /** Opens a connection to the database the marker table lives in. */
  @FunctionalInterface
  interface ConnectionFactory {
    Connection open() throws SQLException;
  }

  final String listener;

  ListenerState(String listener) {
    this.listener = listener;
  }

  /** The state of this listener in its offset store; JDBC state lives in the first mapped database. */
  public static ListenerState open(CdcOptions options) {
    String database = options.mappings().databases().get(0);
    return of(options, () -> Jdbc.connect(options, database));
  }

  static ListenerState of(CdcOptions options, ConnectionFactory database) {
    return switch (options.offsetStorage()) {
      case FILE -> new FileState(options.name(), options.stateDirectory());
      case REDIS -> new RedisState(options.name(), options.redis().redisUri());
      case JDBC -> new JdbcState(options.name(), database);
    };
  }

  /** Where the position is stored, for messages. */
  abstract String describe();

  /** The stored position of this listener; empty on a first start or when the position was lost. */
  abstract Optional<StoredPosition> storedPosition();

  /** Why the mapped namespaces must still be flushed, if a duty is stored. */
  abstract Optional<String> flushDuty();

  /** Stores the duty (replacing an older one); returns only once it is durable. */
  abstract void recordFlushDuty(String reason);

  abstract void clearFlushDuty();

  /** Deletes the stored position and schema history: the next engine starts from the current binlog position. */
  abstract void deleteStoredPosition();

  /**
   * Whether a schema history is stored: an engine of this listener ran since the store was new or its position was
   * deleted (Debezium stores the history in its start-up snapshot, before the first batch is handed over).
   */
  abstract boolean hasSchemaHistory();

  @Override
  public void close() {}

  /**
   * Kafka mode: positions are the consumer group's committed offsets, and a flush owed because one was lost is owed
   * again at the next start (nothing is committed before it), so nothing is stored here.
   */
  public static ListenerState inKafka(String listener) {
    return new KafkaGroupState(listener);
  }

  static final class KafkaGroupState extends ListenerState {
    private volatile String duty;

    KafkaGroupState(String listener) {
      super(listener);
    }

    @Override
    String describe() {
      return "the consumer group's committed offsets";
    }

    @Override
    Optional<StoredPosition> storedPosition() {
      return Optional.empty();
    }

    @Override
    Optional<String> flushDuty() {
      return Optional.ofNullable(duty);
    }

    @Override
    void recordFlushDuty(String reason) {
      duty = reason;
    }

    @Override
    void clearFlushDuty() {
      duty = null;
    }

    @Override
    void deleteStoredPosition() {}

    @Override
    boolean hasSchemaHistory() {
      return false;
    }
  }

  /** Offsets and schema history in files of the state directory, the duty in {@code flush-pending} beside them. */
  static final class FileState extends ListenerState {
    private final Path directory;
    private final Path offsets;
    private final Path duty;

    FileState(String listener, Path directory) {
      super(listener);
      this.directory = directory;
      this.offsets = directory.resolve("offsets.dat");
      this.duty = directory.resolve("flush-pending");
    }

    @Override
    String describe() {
      return offsets.toString();
    }

    @Override
    Optional<StoredPosition> storedPosition() {
      try {
        return StoredPosition.fromFile(offsets, listener);
      } catch (IOException e) {
        throw new IllegalStateException("cannot read the stored position in " + offsets + ": " + e.getMessage(), e);
      }
    }

    @Override
    Optional<String> flushDuty() {
      try {
        return Files.exists(duty) ? Optional.of(Files.readString(duty, StandardCharsets.UTF_8).trim())
            : Optional.empty();
      } catch (IOException e) {
        throw new IllegalStateException("cannot read the flush duty " + duty + ": " + e.getMessage(), e);
      }
    }

    /** Written to a temporary file, forced to disk, then renamed over the duty file: never half written. */
    @Override
    void recordFlushDuty(String reason) {
      Path temporary = directory.resolve("flush-pending.tmp");
      try {
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
          channel.write(StandardCharsets.UTF_8.encode(reason + "\n"));
          channel.force(true);
        }
        try {
          Files.move(temporary, duty, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(temporary, duty, StandardCopyOption.REPLACE_EXISTING);
        }
        forceDirectory();
      } catch (IOException e) {
        throw new IllegalStateException("cannot store the flush duty " + duty + ": " + e.getMessage(), e);
      }
    }

    @Override
    void clearFlushDuty() {
      try {
        Files.deleteIfExists(duty);
        forceDirectory();
      } catch (IOException e) {
        throw new IllegalStateException("cannot delete the flush duty " + duty + ": " + e.getMessage(), e);
      }
    }

    @Override
    void deleteStoredPosition() {
      try {
        Files.deleteIfExists(offsets);
        Files.deleteIfExists(directory.resolve("schema-history.dat"));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete the stored position in " + directory, e);
      }
    }

    @Override
    boolean hasSchemaHistory() {
      Path history = directory.resolve("schema-history.dat");
      try {
        return Files.isRegularFile(history) && Files.size(history) > 0;
      } catch (IOException e) {
        throw new IllegalStateException("cannot read the schema history " + history + ": " + e.getMessage(), e);
      }
    }

    /** Makes a rename or delete in the directory durable (Linux); where directories cannot be opened, skipped. */
    private void forceDirectory() {
      try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
        channel.force(true);
      } catch (IOException e) {
        // not supported on this platform: the rename is still atomic, only its durability is up to the OS
      }
    }
  }

  /** Offsets (a hash), schema history and the duty under {@code veracache:cdc:<name>:} in the cache's Redis. */
  static final class RedisState extends ListenerState {
    private final RedisURI uri;
    private final String offsetsKey;
    private final String historyKey;
    private final String dutyKey;
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;

    RedisState(String listener, RedisURI uri) {
      super(listener);
      RedisURI copy = RedisURI.builder(uri).withTimeout(Duration.ofSeconds(5)).build();
      copy.setClientName("veracache-cdc-state");
      this.uri = copy;
      String prefix = "veracache:cdc:" + listener + ":";
      this.offsetsKey = prefix + "offsets";
      this.historyKey = prefix + "schema_history";
      this.dutyKey = prefix + "flush-pending";
    }

    @Override
    String describe() {
      return "Redis key " + offsetsKey + " at " + uri.getHost() + ":" + uri.getPort();
    }

    @Override
    Optional<StoredPosition> storedPosition() {
      return StoredPosition.fromJson(call("read " + offsetsKey, () -> connection().sync().hgetall(offsetsKey)),
          listener);
    }

    @Override
    Optional<String> flushDuty() {
      return Optional.ofNullable(call("read " + dutyKey, () -> connection().sync().get(dutyKey)));
    }

    @Override
    void recordFlushDuty(String reason) {
      call("write " + dutyKey, () -> connection().sync().set(dutyKey, reason));
    }

    @Override
    void clearFlushDuty() {
      call("delete " + dutyKey, () -> connection().sync().del(dutyKey));
    }

    @Override
    void deleteStoredPosition() {
      call("delete " + offsetsKey + " and " + historyKey, () -> connection().sync().del(offsetsKey, historyKey));
    }

    @Override
    boolean hasSchemaHistory() {
      return call("read " + historyKey, () -> connection().sync().exists(historyKey)) > 0;
    }

    private synchronized StatefulRedisConnection<String, String> connection() {
      if (connection == null) {
        client = RedisClient.create(uri);
        connection = client.connect();
      }
      return connection;
    }

    private <T> T call(String what, java.util.function.Supplier<T> command) {
      try {
        return command.get();
      } catch (RedisException e) {
        throw new IllegalStateException("listener " + listener + ": cannot " + what + " in Redis at " + uri.getHost()
            + ":" + uri.getPort() + ": " + e.getMessage(), e);
      }
    }

    @Override
    public synchronized void close() {
      if (connection != null) {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        connection = null;
        client = null;
      }
    }
  }

  /**
   * Offsets and schema history in Debezium's JDBC tables of the marker database, the duty in
   * {@code veracache_cdc_flush_duty}. Debezium's JDBC stores have no listener column (each save replaces the whole
   * offsets table): one JDBC-stored listener per database.
   */
  static final class JdbcState extends ListenerState {
    private final ConnectionFactory database;

    JdbcState(String listener, ConnectionFactory database) {
      super(listener);
      this.database = database;
    }

    @Override
    String describe() {
      return "table " + JDBC_OFFSETS_TABLE;
    }

    @Override
    Optional<StoredPosition> storedPosition() {
      Map<String, String> offsets = new LinkedHashMap<>();
      try (Connection c = database.open(); Statement s = c.createStatement()) {
        if (!tableExists(c, JDBC_OFFSETS_TABLE)) {
          return Optional.empty();
        }
        try (ResultSet rs = s.executeQuery("SELECT offset_key, offset_val FROM " + JDBC_OFFSETS_TABLE
            + " ORDER BY record_insert_ts, record_insert_seq")) {
          while (rs.next()) {
            offsets.put(rs.getString(1), rs.getString(2)); // a later row of the same key wins, as in Debezium
          }
        }
      } catch (SQLException e) {
        throw failure("read the stored position from " + JDBC_OFFSETS_TABLE, e);
      }
      return StoredPosition.fromJson(offsets, listener);
    }

    @Override
    Optional<String> flushDuty() {
      try (Connection c = database.open()) {
        if (!tableExists(c, JDBC_FLUSH_DUTY_TABLE)) {
          return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT reason FROM " + JDBC_FLUSH_DUTY_TABLE
            + " WHERE listener = ?")) {
          ps.setString(1, listener);
          try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
          }
        }
      } catch (SQLException e) {
        throw failure("read the flush duty from " + JDBC_FLUSH_DUTY_TABLE, e);
      }
    }

    @Override
    void recordFlushDuty(String reason) {
      try (Connection c = database.open(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS " + JDBC_FLUSH_DUTY_TABLE
            + " (listener VARCHAR(64) PRIMARY KEY, reason VARCHAR(1000) NOT NULL)");
        try (PreparedStatement ps = c.prepareStatement("REPLACE INTO " + JDBC_FLUSH_DUTY_TABLE
            + " (listener, reason) VALUES (?, ?)")) {
          ps.setString(1, listener);
          ps.setString(2, reason.length() > 1000 ? reason.substring(0, 1000) : reason);
          ps.executeUpdate();
        }
      } catch (SQLException e) {
        throw failure("store the flush duty in " + JDBC_FLUSH_DUTY_TABLE, e);
      }
    }

    @Override
    void clearFlushDuty() {
      try (Connection c = database.open()) {
        if (tableExists(c, JDBC_FLUSH_DUTY_TABLE)) {
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + JDBC_FLUSH_DUTY_TABLE
              + " WHERE listener = ?")) {
            ps.setString(1, listener);
            ps.executeUpdate();
          }
        }
      } catch (SQLException e) {
        throw failure("delete the flush duty from " + JDBC_FLUSH_DUTY_TABLE, e);
      }
    }

    /** This listener's offset rows, and the schema history (which Debezium keeps for one listener per table). */
    @Override
    void deleteStoredPosition() {
      try (Connection c = database.open()) {
        if (tableExists(c, JDBC_OFFSETS_TABLE)) {
          List<String> ids = new ArrayList<>();
          try (Statement s = c.createStatement();
               ResultSet rs = s.executeQuery("SELECT id, offset_key FROM " + JDBC_OFFSETS_TABLE)) {
            while (rs.next()) {
              if (StoredPosition.namesListener(rs.getString(2), listener)) {
                ids.add(rs.getString(1));
              }
            }
          }
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + JDBC_OFFSETS_TABLE + " WHERE id = ?")) {
            for (String id : ids) {
              ps.setString(1, id);
              ps.executeUpdate();
            }
          }
        }
        if (tableExists(c, JDBC_SCHEMA_HISTORY_TABLE)) {
          try (Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM " + JDBC_SCHEMA_HISTORY_TABLE);
          }
        }
      } catch (SQLException e) {
        throw failure("delete the stored position from " + JDBC_OFFSETS_TABLE + " and "
            + JDBC_SCHEMA_HISTORY_TABLE, e);
      }
    }

    /** Any row: Debezium's JDBC history has no listener column (one JDBC-stored listener per database). */
    @Override
    boolean hasSchemaHistory() {
      try (Connection c = database.open()) {
        if (!tableExists(c, JDBC_SCHEMA_HISTORY_TABLE)) {
          return false;
        }
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1 FROM " + JDBC_SCHEMA_HISTORY_TABLE + " LIMIT 1")) {
          return rs.next();
        }
      } catch (SQLException e) {
        throw failure("read the schema history from " + JDBC_SCHEMA_HISTORY_TABLE, e);
      }
    }

    private static boolean tableExists(Connection c, String table) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM information_schema.TABLES "
          + "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?")) {
        ps.setString(1, table);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    }

    private IllegalStateException failure(String what, SQLException e) {
      return new IllegalStateException("listener " + listener + ": cannot " + what + ": " + e.getMessage(), e);
    }
  }
}
