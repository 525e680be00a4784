package dev.veracache.cdc;

import dev.veracache.CacheUnavailableException;
import dev.veracache.RedisInvalidator;
import dev.veracache.RedisInvalidator.KeyInvalidation;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
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
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the database's binlog (Debezium embedded) and invalidates the mapped cache keys in Redis after each commit, in
 * commit order; every instance's L1 follows through Redis tracking.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No position is acknowledged before its invalidations are in Redis.</b> A batch is marked processed only
 *       after {@link RedisInvalidator} took all of it; while Redis refuses, the batch is retried with exponential
 *       backoff and nothing is acknowledged. A crash replays from the last acknowledged position (at least once;
 *       invalidations are idempotent).</li>
 *   <li><b>Order.</b> Batches are applied one after the other, each pipelined in binlog order on one connection.</li>
 *   <li><b>Nothing is skipped silently.</b> Unmapped tables are counted; a row that does not fit its mapping stops the
 *       listener (health down, logged) rather than dropping the invalidation.</li>
 *   <li><b>Whole-table changes are not row changes.</b> A TRUNCATE, DROP, RENAME or CREATE OR REPLACE of a mapped
 *       table flushes the table's namespace at its place in the batch (invalidations before it are applied first,
 *       the rest after; the batch is acknowledged only after the flush succeeded, retried like invalidations), or
 *       stops the listener under policy FAIL. Either way it is logged and counted.</li>
 *   <li><b>Live means proven.</b> {@link #isLive()} turns true only when a marker row written after start came back
 *       through the binlog: Debezium reports its task started before it reads new commits.</li>
 * </ul>
 */
public final class CdcInvalidator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  static final String MARKER_TABLE = "veracache_cdc_marker";

  private final CdcOptions options;
  private final CdcHooks hooks;
  private final ChangeEventMapper mapper;
  private final RedisInvalidator invalidator;
  private final String markerDatabase;
  private final ExecutorService engineThread;
  private final IntervalFunction backoff;
  private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;

  private volatile boolean live;
  private volatile boolean proven;
  private final Object liveSignal = new Object();
  private final ExecutorService prover;
  private volatile boolean closing;
  private volatile Throwable failure;
  private final AtomicLong markerToken = new AtomicLong();
  private final AtomicLong lastCommitMillis = new AtomicLong();
  private final AtomicInteger backlog = new AtomicInteger();
  private final Counter eventsApplied;
  private final Counter eventsUnmapped;
  private final Counter keysInvalidated;
  private final Counter retries;
  private final Counter purgedFlushed;
  private final Counter purgedFailed;

  private CdcInvalidator(CdcOptions options, CdcHooks hooks) {
    this.options = options;
    this.hooks = hooks;
    this.mapper = new ChangeEventMapper(options.mappings);
    this.markerDatabase = options.mappings.databases().get(0);
    this.backoff = IntervalFunction.ofExponentialBackoff(options.retryInitialBackoff, 2.0, options.retryMaxBackoff);
    MeterRegistry registry = options.meterRegistry;
    String name = options.name;
    this.eventsApplied = Counter.builder("veracache.cdc.events").tag("listener", name).tag("result", "applied")
        .description("Row changes whose invalidations Redis took").register(registry);
    this.eventsUnmapped = Counter.builder("veracache.cdc.events").tag("listener", name).tag("result", "unmapped")
        .description("Row changes of tables with no mapping (skipped)").register(registry);
    this.keysInvalidated = Counter.builder("veracache.cdc.invalidations").tag("listener", name)
        .description("Cache keys invalidated").register(registry);
    this.retries = Counter.builder("veracache.cdc.retries").tag("listener", name)
        .description("Batches retried because Redis did not take them").register(registry);
    Gauge.builder("veracache.cdc.backlog", backlog, AtomicInteger::get).tag("listener", name)
        .description("Invalidations received but not yet taken by Redis").register(registry);
    Gauge.builder("veracache.cdc.lag", this, CdcInvalidator::lagMillis).tag("listener", name).baseUnit("milliseconds")
        .description("Now minus the commit time of the last applied change").register(registry);
    Gauge.builder("veracache.cdc.live", this, c -> c.isLive() ? 1 : 0).tag("listener", name)
        .description("1 while the listener is proven to see new commits").register(registry);
    this.invalidator = RedisInvalidator.create(options.redis);
    this.engineThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-" + name);
      t.setDaemon(true);
      return t;
    });
    this.prover = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-prover-" + name);
      t.setDaemon(true);
      return t;
    });
    this.purgedFlushed = Counter.builder("veracache.cdc.purged.positions").tag("listener", name)
        .tag("action", "flushed").description("Stored positions found purged from the binlog").register(registry);
    this.purgedFailed = Counter.builder("veracache.cdc.purged.positions").tag("listener", name)
        .tag("action", "failed").register(registry);
  }

  /** Checks the mappings against the database, connects to Redis, starts reading the binlog. Not live yet. */
  public static CdcInvalidator start(CdcOptions options) {
    return start(options, CdcHooks.NONE);
  }

  public static CdcInvalidator start(CdcOptions options, CdcHooks hooks) {
    checkMappingsAgainstSchema(options);
    CdcInvalidator cdc = new CdcInvalidator(options, hooks);
    try {
      Files.createDirectories(options.stateDirectory);
      cdc.createMarkerTable();
    } catch (IOException e) {
      cdc.close();
      throw new UncheckedIOException("cannot create state directory " + options.stateDirectory, e);
    } catch (SQLException e) {
      cdc.close();
      throw new IllegalStateException("cannot create " + cdc.markerDatabase + "." + MARKER_TABLE + ": "
          + e.getMessage(), e);
    }
    cdc.startFromStoredPosition();
    return cdc;
  }

  /** Waits until the listener is live (see {@link #isLive()}); false if it failed or the timeout passed first. */
  public boolean awaitLive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (liveSignal) {
      while (!isLive() && failure == null && !closing) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(liveSignal, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return isLive();
  }

  /**
   * Runs on its own thread after each engine start: writes a marker row every 200 ms until one comes back through the
   * binlog, then, after a purged position, flushes the mapped namespaces.
   */
  private void proveLive(boolean flushWhenLive) {
    while (!live && failure == null && !closing) {
      long token = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
      markerToken.set(token);
      try (Connection c = connect(markerDatabase); PreparedStatement ps = c.prepareStatement(
          "REPLACE INTO " + MARKER_TABLE + " (listener, token) VALUES (?, ?)")) {
        ps.setString(1, options.name);
        ps.setLong(2, token);
        ps.executeUpdate();
      } catch (SQLException e) {
        log.warn("listener {}: cannot write the readiness marker: {}", options.name, e.getMessage());
      }
      synchronized (liveSignal) {
        try {
          if (!live) {
            liveSignal.wait(200);
          }
        } catch (InterruptedException e) {
          return;
        }
      }
    }
    if (live && flushWhenLive) {
      flushMappedNamespaces();
    }
    if (live) {
      proven = true;
      synchronized (liveSignal) {
        liveSignal.notifyAll();
      }
    }
  }

  /**
   * True once a marker written after (re)start came back through the binlog (and, after a purged position, the
   * mapped namespaces were flushed), and while the engine runs.
   */
  public boolean isLive() {
    return live && proven && failure == null && !closing;
  }

  /** Why the listener stopped, or null while it runs. */
  public Throwable failure() {
    return failure;
  }

  long lagMillis() {
    long last = lastCommitMillis.get();
    return last == 0 ? 0 : Math.max(0, System.currentTimeMillis() - last);
  }

  private void startEngine(boolean flushWhenLive) {
    Properties props = new Properties();
    props.setProperty("name", options.name);
    props.setProperty("connector.class", options.connector.connectorClass);
    props.setProperty("database.hostname", options.host);
    props.setProperty("database.port", Integer.toString(options.port));
    props.setProperty("database.user", options.user);
    props.setProperty("database.password", options.password);
    props.setProperty("database.server.id", Long.toString(options.serverId));
    props.setProperty("database.ssl.mode", options.ssl ? "required" : options.connector.sslDisabled);
    props.setProperty("topic.prefix", options.name);
    props.setProperty("database.include.list", String.join(",", options.mappings.databases()));
    props.setProperty("snapshot.mode", "no_data");
    props.setProperty("snapshot.locking.mode", "none");
    // DDL events: DROP/RENAME/CREATE OR REPLACE of a mapped table flush its namespace (see ChangeEventMapper).
    props.setProperty("include.schema.changes", "true");
    // Truncate events (op "t"), which Debezium skips by default: they flush the table's namespace.
    props.setProperty("skipped.operations", "none");
    // Values decoded by KeyRendering: exact unsigned BIGINTs and decimals, microsecond time types, raw bytes.
    props.setProperty("bigint.unsigned.handling.mode", "precise");
    props.setProperty("decimal.handling.mode", "precise");
    props.setProperty("time.precision.mode", "adaptive_time_microseconds");
    props.setProperty("binary.handling.mode", "bytes");
    storageProperties(props);
    props.setProperty("offset.flush.interval.ms", Long.toString(options.offsetFlushInterval.toMillis()));
    props.setProperty("poll.interval.ms", Long.toString(options.pollInterval.toMillis()));
    props.setProperty("max.batch.size", Integer.toString(options.maxBatchSize));
    props.setProperty("max.queue.size", Integer.toString(Math.max(8192, options.maxBatchSize * 4)));
    props.setProperty("heartbeat.interval.ms", Long.toString(options.heartbeatInterval.toMillis()));
    props.setProperty("bootstrap.servers", "unused:9092"); // required by Kafka 4.2 config classes, never contacted
    engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
        .using(props)
        .notifying(this::handleBatch)
        .using(this::engineStopped)
        .build();
    engineThread.execute(engine);
    prover.execute(() -> proveLive(flushWhenLive));
    log.info("listener {} started on {}:{} ({}), capturing {}", options.name, options.host, options.port,
        options.connector, options.mappings.databases());
  }

  /** Starts the engine, unless the stored position was purged: then the policy decides. */
  private void startFromStoredPosition() {
    Optional<String> storedFile;
    List<String> onServer = new ArrayList<>();
    try {
      storedFile = StoredPosition.binlogFile(options.stateDirectory.resolve("offsets.dat"));
      if (storedFile.isPresent()) {
        try (Connection c = connect(markerDatabase); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
          while (rs.next()) {
            onServer.add(rs.getString(1));
          }
        }
      }
    } catch (IOException | SQLException e) {
      throw new IllegalStateException("listener " + options.name + ": cannot check the stored position in "
          + options.stateDirectory + " against the server: " + e.getMessage(), e);
    }
    if (storedFile.isPresent() && !onServer.contains(storedFile.get())) {
      onPurgedPosition("binlog file " + storedFile.get() + " is not on the server any more (it has " + onServer + ")",
          null);
      return;
    }
    startEngine(false);
  }

  private void onPurgedPosition(String what, Throwable error) {
    if (options.purgedPositionPolicy == CdcOptions.PurgedPositionPolicy.FLUSH_AND_RESTART) {
      purgedFlushed.increment();
      log.error("listener {}: its stored position was purged ({}), so invalidations were lost. Restarting from the "
          + "current position; the mapped namespaces {} will be flushed once live", options.name, what, namespaces());
      deleteStoredState();
      engineThread.execute(() -> startEngine(true)); // after a stopped engine's task has returned
      return;
    }
    purgedFailed.increment();
    log.error("listener {}: its stored position was purged ({}); policy FAIL: stopping. Flush the namespaces {} and "
        + "delete {} to start over", options.name, what, namespaces(), options.stateDirectory);
    failure = error != null ? error : new IllegalStateException("stored binlog position purged: " + what);
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
  }

  private void engineStopped(boolean success, String message, Throwable error) {
    if (success || closing) {
      return;
    }
    live = false;
    proven = false;
    if (isPurgedPosition(message, error)) {
      onPurgedPosition(message, error);
      return;
    }
    // Debezium puts its whole configuration, passwords included, into some of these messages: mask before logging.
    String safeMessage = Secrets.mask(message);
    Throwable root = error == null ? null : error.getCause() != null ? error.getCause() : error;
    String cause = root == null ? "" : Secrets.mask(String.valueOf(root));
    log.error("listener {} stopped: {} ({})", options.name, safeMessage, cause);
    failure = new IllegalStateException(safeMessage + (cause.isEmpty() ? "" : " (" + cause + ")"));
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
  }

  private static boolean isPurgedPosition(String message, Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (String.valueOf(t.getMessage()).contains("no longer available on the server")) {
        return true;
      }
    }
    return String.valueOf(message).contains("no longer available on the server");
  }

  private List<String> namespaces() {
    return options.mappings.tables().stream().map(TableMapping::namespace).distinct().sorted().toList();
  }

  private void deleteStoredState() {
    try {
      Files.deleteIfExists(options.stateDirectory.resolve("offsets.dat"));
      Files.deleteIfExists(options.stateDirectory.resolve("schema-history.dat"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the stored position in " + options.stateDirectory, e);
    }
  }

  /** After a purged position: everything cached for the mapped tables may be stale. Retries until Redis took it. */
  private void flushMappedNamespaces() {
    for (String namespace : namespaces()) {
      for (int attempt = 1; !closing; attempt++) {
        try {
          long deleted = invalidator.flushNamespace(namespace);
          log.warn("listener {}: flushed namespace '{}' ({} keys) after the purged position", options.name,
              namespace, deleted);
          break;
        } catch (CacheUnavailableException e) {
          retries.increment();
          try {
            Thread.sleep(backoff.apply(attempt));
          } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }

  /** Offsets and schema history: in the state directory, the cache's Redis, or tables of the captured database. */
  private void storageProperties(Properties props) {
    switch (options.offsetStorage) {
      case FILE -> {
        props.setProperty("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
        props.setProperty("schema.history.internal.file.filename",
            options.stateDirectory.resolve("schema-history.dat").toString());
        props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        props.setProperty("offset.storage.file.filename", options.stateDirectory.resolve("offsets.dat").toString());
      }
      case REDIS -> {
        io.lettuce.core.RedisURI uri = options.redis.redisUri();
        io.lettuce.core.RedisCredentials credentials = uri.getCredentialsProvider().resolveCredentials().block();
        props.setProperty("offset.storage", "io.debezium.storage.redis.offset.RedisOffsetBackingStore");
        props.setProperty("schema.history.internal", "io.debezium.storage.redis.history.RedisSchemaHistory");
        for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
          props.setProperty(prefix + "redis.address", uri.getHost() + ":" + uri.getPort());
          if (credentials != null && credentials.hasUsername()) {
            props.setProperty(prefix + "redis.user", credentials.getUsername());
          }
          if (credentials != null && credentials.hasPassword()) {
            props.setProperty(prefix + "redis.password", new String(credentials.getPassword()));
          }
          props.setProperty(prefix + "redis.ssl.enabled", Boolean.toString(uri.isSsl()));
        }
        props.setProperty("offset.storage.redis.key", "veracache:cdc:" + options.name + ":offsets");
        props.setProperty("schema.history.internal.redis.key", "veracache:cdc:" + options.name + ":schema_history");
      }
      case JDBC -> {
        props.setProperty("offset.storage", "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore");
        props.setProperty("schema.history.internal", "io.debezium.storage.jdbc.history.JdbcSchemaHistory");
        for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
          props.setProperty(prefix + "jdbc.connection.url", jdbcUrl(options, markerDatabase));
          props.setProperty(prefix + "jdbc.connection.user", options.user);
          props.setProperty(prefix + "jdbc.connection.password", options.password);
        }
        props.setProperty("offset.storage.jdbc.table.name", "veracache_cdc_offsets");
        props.setProperty("schema.history.internal.jdbc.table.name", "veracache_cdc_schema_history");
      }
      default -> throw new IllegalStateException("unknown offset storage " + options.offsetStorage);
    }
  }

  private void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
    List<KeyInvalidation> invalidations = new ArrayList<>();
    int applied = 0;
    int keys = 0;
    long newestCommit = 0;
    for (RecordChangeEvent<SourceRecord> event : records) {
      List<ChangeEventMapper.TableReset> resets = mapper.tableResets(event.record());
      if (!resets.isEmpty()) {
        // In binlog order: what came before is in Redis before the flush, what comes after lands after it.
        if (!invalidations.isEmpty()) {
          hooks.beforeApply(invalidations);
          applyUntilTaken(invalidations);
          keys += invalidations.size();
          invalidations = new ArrayList<>();
        }
        for (ChangeEventMapper.TableReset reset : resets) {
          resetTable(reset);
        }
        continue;
      }
      ChangeEventMapper.RowChange change = ChangeEventMapper.rowChange(event.record());
      if (change == null) {
        continue;
      }
      if (MARKER_TABLE.equals(change.table())) {
        noticeMarker(change.after());
        continue;
      }
      TableMapping mapping = mapper.mappingOf(change);
      if (mapping == null) {
        eventsUnmapped.increment();
        continue;
      }
      invalidations.addAll(mapper.invalidations(change, mapping));
      applied++;
      newestCommit = Math.max(newestCommit, change.commitMillis());
    }
    hooks.beforeApply(invalidations);
    applyUntilTaken(invalidations);
    keys += invalidations.size();
    for (RecordChangeEvent<SourceRecord> event : records) {
      committer.markProcessed(event);
    }
    committer.markBatchFinished();
    eventsApplied.increment(applied);
    keysInvalidated.increment(keys);
    if (newestCommit > 0) {
      lastCommitMillis.set(newestCommit);
    }
  }

  /**
   * A mapped table changed as a whole (TRUNCATE, DROP, RENAME, CREATE OR REPLACE): no row event says which keys
   * changed. FLUSH_NAMESPACES deletes every key of its namespace, retrying until Redis took it (the batch is not
   * acknowledged before); FAIL stops the listener, naming table and statement.
   */
  private void resetTable(ChangeEventMapper.TableReset reset) throws InterruptedException {
    TableMapping mapping = reset.mapping();
    String statement = reset.statement().length() > 300 ? reset.statement().substring(0, 300) + "..."
        : reset.statement();
    boolean flush = options.wholeTableChangePolicy == CdcOptions.WholeTableChangePolicy.FLUSH_NAMESPACES;
    Counter counter = Counter.builder("veracache.cdc.table.changes").tag("listener", options.name)
        .tag("table", mapping.table()).tag("reason", reset.reason()).tag("action", flush ? "flushed" : "failed")
        .description("Whole-table changes (TRUNCATE, DROP, RENAME, ...) of mapped tables")
        .register(options.meterRegistry);
    if (!flush) {
      counter.increment();
      String message = "listener " + options.name + ": mapped table " + mapping.table() + " changed as a whole ("
          + reset.reason() + ": " + statement + "); policy FAIL: stopping. Flush the namespace '"
          + mapping.namespace() + "', then restart with policy FLUSH_NAMESPACES (or from a new state directory)";
      log.error(message);
      throw new WholeTableChangeException(message);
    }
    log.warn("listener {}: mapped table {} changed as a whole ({}: {}): flushing namespace '{}'", options.name,
        mapping.table(), reset.reason(), statement, mapping.namespace());
    hooks.beforeFlush(mapping.table(), reset.reason(), mapping.namespace());
    long deleted = flushUntilDone(mapping.namespace());
    counter.increment();
    log.warn("listener {}: flushed namespace '{}' ({} keys) after the {} of {}", options.name, mapping.namespace(),
        deleted, reset.reason(), mapping.table());
  }

  /** Deletes every key of a namespace, retrying while Redis refuses (throws InterruptedException when closing). */
  private long flushUntilDone(String namespace) throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      if (closing) {
        throw new InterruptedException("closing before namespace '" + namespace + "' was flushed; the change will be "
            + "replayed from the last acknowledged position");
      }
      try {
        return invalidator.flushNamespace(namespace);
      } catch (CacheUnavailableException e) {
        retries.increment();
        long pause = backoff.apply(attempt);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not flush namespace '{}' (attempt {}, {}); position not acknowledged, "
              + "retrying in {} ms", options.name, namespace, attempt, e.getMessage(), pause);
        }
        Thread.sleep(pause);
      }
    }
  }

  /** A mapped table changed as a whole under policy FAIL. */
  static final class WholeTableChangeException extends RuntimeException {
    WholeTableChangeException(String message) {
      super(message);
    }
  }

  private void noticeMarker(Struct after) {
    if (after != null && options.name.equals(after.getString("listener"))
        && after.getInt64("token") == markerToken.get() && !live) {
      log.info("listener {} is live: its marker came back through the binlog", options.name);
      live = true;
      synchronized (liveSignal) {
        liveSignal.notifyAll();
      }
    }
  }

  /** Retries until Redis takes the batch; never returns without it (throws InterruptedException when closing). */
  private void applyUntilTaken(List<KeyInvalidation> invalidations) throws InterruptedException {
    if (invalidations.isEmpty()) {
      return;
    }
    backlog.set(invalidations.size());
    for (int attempt = 1; ; attempt++) {
      if (closing) {
        throw new InterruptedException("closing with " + invalidations.size() + " invalidations not applied; they "
            + "will be replayed from the last acknowledged position");
      }
      try {
        invalidator.invalidate(invalidations);
        backlog.set(0);
        if (attempt > 1) {
          log.info("listener {}: Redis took the batch of {} invalidations after {} attempts", options.name,
              invalidations.size(), attempt);
        }
        return;
      } catch (CacheUnavailableException e) {
        retries.increment();
        long pause = backoff.apply(attempt);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not take {} invalidations (attempt {}, {}); position not acknowledged, "
              + "retrying in {} ms", options.name, invalidations.size(), attempt, e.getMessage(), pause);
        }
        Thread.sleep(pause);
      }
    }
  }

  /**
   * Fails at start, naming the table, the field, the column and its type, when a mapping does not fit the table it
   * maps: a missing column, a key column that cannot be rendered faithfully (see {@link KeyRendering}), a version
   * column that is not an integer.
   */
  private static void checkMappingsAgainstSchema(CdcOptions options) {
    for (TableMapping mapping : options.mappings.tables()) {
      String[] parts = mapping.table().split("\\.", 2);
      Map<String, ColumnType> columns = new LinkedHashMap<>();
      try (Connection c = DriverManager.getConnection(jdbcUrl(options, parts[0]), options.user, options.password);
           PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLLATION_NAME, "
               + "CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? "
               + "ORDER BY ORDINAL_POSITION")) {
        ps.setString(1, parts[0]);
        ps.setString(2, parts[1]);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString(1);
            String dataType = rs.getString(2);
            String columnType = rs.getString(3);
            String collation = rs.getString(4);
            long octets = rs.getLong(5);
            ColumnType type = new ColumnType(name, dataType, columnType, collation, rs.wasNull() ? null : octets);
            columns.put(type.name().toLowerCase(java.util.Locale.ROOT), type);
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the columns of " + mapping.table() + " from " + options.host
            + ":" + options.port + ": " + e.getMessage(), e);
      }
      if (columns.isEmpty()) {
        throw new IllegalArgumentException("table " + mapping.table() + ": no such table in the database");
      }
      mapping.checkAgainst(columns);
    }
  }

  private void createMarkerTable() throws SQLException {
    try (Connection c = connect(markerDatabase); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + MARKER_TABLE
          + " (listener VARCHAR(64) PRIMARY KEY, token BIGINT NOT NULL)");
    }
  }

  private Connection connect(String database) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(options, database), options.user, options.password);
  }

  private static String jdbcUrl(CdcOptions options, String database) {
    return "jdbc:mysql://" + options.host + ":" + options.port + "/" + database + "?useSSL=" + options.ssl
        + "&allowPublicKeyRetrieval=true&connectTimeout=5000";
  }

  @Override
  public synchronized void close() {
    if (closing) {
      return;
    }
    closing = true;
    live = false;
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
    try {
      if (engine != null && failure == null) {
        engine.close();
      }
    } catch (IOException | IllegalStateException e) {
      log.warn("listener {}: engine did not close cleanly: {}", options.name, e.getMessage());
    } finally {
      prover.shutdownNow();
      engineThread.shutdown();
      try {
        if (!engineThread.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("listener {}: engine thread still running after 30 s", options.name);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      invalidator.close();
    }
    log.info("listener {} closed", options.name);
  }
}
