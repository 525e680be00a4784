package dev.veracache.cdc;

import dev.veracache.VeracacheOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one {@link CdcInvalidator}. Required: the database endpoint and credentials, the Redis options, the
 * mappings and a state directory (offsets and schema history live there). Everything else has a default.
 */
public final class CdcOptions {

  /** Which Debezium connector reads the binlog. */
  public enum Connector {
    MARIADB("io.debezium.connector.mariadb.MariaDbConnector", "disable"),
    MYSQL("io.debezium.connector.mysql.MySqlConnector", "disabled");

    private final String connectorClass;
    private final String sslDisabled;

    Connector(String connectorClass, String sslDisabled) {
      this.connectorClass = connectorClass;
      this.sslDisabled = sslDisabled;
    }

    /** The Debezium connector class. */
    public String connectorClass() {
      return connectorClass;
    }

    /** This connector's spelling of {@code database.ssl.mode} when SSL is off. */
    public String sslDisabled() {
      return sslDisabled;
    }
  }

  /** What to do when the stored binlog position was purged from the server (invalidations were lost for good). */
  public enum PurgedPositionPolicy {
    /** Start again from the current position, and once live, delete every key of the mapped namespaces. */
    FLUSH_AND_RESTART,
    /** Stop, health down, and say so: an operator decides. */
    FAIL
  }

  /**
   * What to do when no stored position is found at start: a new state directory, an offset key evicted from Redis, an
   * offsets table emptied. The listener then starts from the current binlog position, so whatever changed while no
   * listener ran (or since the position was lost) was never invalidated.
   */
  public enum FirstStartPolicy {
    /** Once live, delete every key of the mapped namespaces (once; the duty is stored first). The default. */
    FLUSH_NAMESPACES,
    /**
     * The operator asserts that nothing was cached before this listener first ran (a fresh install): start from the
     * current position and flush nothing. Wrong on a lost position: stale entries then live until their TTL.
     */
    ASSUME_FRESH_INSTALL
  }

  /**
   * What to do when Redis is found to have lost invalidations it had acknowledged: it restarted from an older snapshot,
   * failed over to a replica that lagged, or was flushed (the listener's sequence number in Redis is not the one it
   * wrote last; checked at every progress publish).
   */
  public enum RedisDataLossPolicy {
    /** Delete every key of the mapped namespaces (the duty is stored first), then go on. The default. */
    FLUSH_NAMESPACES,
    /** Stop, health down, and say so: an operator decides. */
    FAIL,
    /**
     * Log (ERROR) and count it, flush nothing, and go on: only for a Redis that cannot lose acknowledged writes, or to
     * measure what the check buys (the chaos baseline). Old values restored with the lost data stay until their TTL.
     */
    IGNORE
  }

  /**
   * What to do when a mapped table changes as a whole: TRUNCATE, DROP TABLE, RENAME TABLE (to or from its name),
   * CREATE OR REPLACE TABLE, DROP DATABASE. No row event says which keys changed, so every key of its namespace may
   * be stale.
   */
  public enum WholeTableChangePolicy {
    /**
     * Delete every key of the table's namespace, in binlog order (the invalidations before it first), and only then
     * acknowledge the position; retried while Redis refuses.
     */
    FLUSH_NAMESPACES,
    /** Stop the listener (health down), naming the table and the statement: an operator decides. */
    FAIL
  }

  /**
   * Where offsets and schema history are kept. FILE needs a durable state directory; REDIS uses the cache's Redis
   * (only safe with persistence: a Redis that loses its data loses the position, and the listener then starts from
   * the current one); JDBC uses tables in the captured database.
   */
  public enum OffsetStorage { FILE, REDIS, JDBC }

  static final long DEFAULT_PROGRESS_INTERVAL_MILLIS = 500;
  static final Duration DEFAULT_PROGRESS_INTERVAL = Duration.ofMillis(DEFAULT_PROGRESS_INTERVAL_MILLIS);

  private final Connector connector;
  private final OffsetStorage offsetStorage;
  private final PurgedPositionPolicy purgedPositionPolicy;
  private final FirstStartPolicy firstStartPolicy;
  private final WholeTableChangePolicy wholeTableChangePolicy;
  private final String host;
  private final int port;
  private final String user;
  private final String password;
  private final boolean ssl;
  private final long serverId;
  private final String name;
  private final VeracacheOptions redis;
  private final InvalidationMappings mappings;
  private final Path stateDirectory;
  private final Duration pollInterval;
  private final Duration heartbeatInterval;
  private final Duration offsetFlushInterval;
  private final int maxBatchSize;
  private final Duration retryInitialBackoff;
  private final Duration retryMaxBackoff;
  private final Duration stallThreshold;
  private final Duration progressInterval;
  private final RedisDataLossPolicy redisDataLossPolicy;
  private final int redisReplicasToAwait;
  private final boolean redisAwaitAof;
  private final Duration redisDurabilityTimeout;
  private final MeterRegistry meterRegistry;
  private final KafkaSource kafka;

  private CdcOptions(Builder b) {
    this.connector = b.connector;
    this.offsetStorage = b.offsetStorage;
    this.purgedPositionPolicy = b.purgedPositionPolicy;
    this.firstStartPolicy = b.firstStartPolicy;
    this.wholeTableChangePolicy = b.wholeTableChangePolicy;
    this.host = b.host;
    this.port = b.port;
    this.user = b.user;
    this.password = b.password;
    this.ssl = b.ssl;
    this.serverId = b.serverId;
    this.name = b.name;
    this.redis = b.redis;
    this.mappings = b.mappings;
    this.stateDirectory = b.stateDirectory;
    this.pollInterval = b.pollInterval;
    this.heartbeatInterval = b.heartbeatInterval;
    this.offsetFlushInterval = b.offsetFlushInterval;
    this.maxBatchSize = b.maxBatchSize;
    this.retryInitialBackoff = b.retryInitialBackoff;
    this.retryMaxBackoff = b.retryMaxBackoff;
    this.stallThreshold = b.stallThreshold;
    this.progressInterval = b.progressInterval;
    this.redisDataLossPolicy = b.redisDataLossPolicy;
    this.redisReplicasToAwait = b.redisReplicasToAwait;
    this.redisAwaitAof = b.redisAwaitAof;
    this.redisDurabilityTimeout = b.redisDurabilityTimeout;
    this.meterRegistry = b.meterRegistry;
    this.kafka = b.kafka == null ? null : b.kafka.withDefaultGroup(b.name);
  }

  // Read-back of the settings (the listener's internals read them; an application may log them, except password()).

  public Connector connector() {
    return connector;
  }

  public OffsetStorage offsetStorage() {
    return offsetStorage;
  }

  public PurgedPositionPolicy purgedPositionPolicy() {
    return purgedPositionPolicy;
  }

  public FirstStartPolicy firstStartPolicy() {
    return firstStartPolicy;
  }

  public WholeTableChangePolicy wholeTableChangePolicy() {
    return wholeTableChangePolicy;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String user() {
    return user;
  }

  public String password() {
    return password;
  }

  public boolean ssl() {
    return ssl;
  }

  public long serverId() {
    return serverId;
  }

  public String name() {
    return name;
  }

  public VeracacheOptions redis() {
    return redis;
  }

  public InvalidationMappings mappings() {
    return mappings;
  }

  public Path stateDirectory() {
    return stateDirectory;
  }

  public Duration pollInterval() {
    return pollInterval;
  }

  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  public Duration offsetFlushInterval() {
    return offsetFlushInterval;
  }

  public int maxBatchSize() {
    return maxBatchSize;
  }

  public Duration retryInitialBackoff() {
    return retryInitialBackoff;
  }

  public Duration retryMaxBackoff() {
    return retryMaxBackoff;
  }

  public Duration stallThreshold() {
    return stallThreshold;
  }

  public Duration progressInterval() {
    return progressInterval;
  }

  public RedisDataLossPolicy redisDataLossPolicy() {
    return redisDataLossPolicy;
  }

  public int redisReplicasToAwait() {
    return redisReplicasToAwait;
  }

  public boolean redisAwaitAof() {
    return redisAwaitAof;
  }

  public Duration redisDurabilityTimeout() {
    return redisDurabilityTimeout;
  }

  public MeterRegistry meterRegistry() {
    return meterRegistry;
  }

  /**
   * Where the change events come from in Kafka mode, or null for the default: Debezium embedded in this listener,
   * reading the binlog itself.
   */
  public KafkaSource kafka() {
    return kafka;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private Connector connector = Connector.MARIADB;
    private OffsetStorage offsetStorage = OffsetStorage.FILE;
    private PurgedPositionPolicy purgedPositionPolicy = PurgedPositionPolicy.FLUSH_AND_RESTART;
    private FirstStartPolicy firstStartPolicy = FirstStartPolicy.FLUSH_NAMESPACES;
    private WholeTableChangePolicy wholeTableChangePolicy = WholeTableChangePolicy.FLUSH_NAMESPACES;
    private String host;
    private int port;
    private String user;
    private String password = "";
    private boolean ssl;
    private long serverId = 5400;
    private String name = "veracache-cdc";
    private VeracacheOptions redis;
    private InvalidationMappings mappings;
    private Path stateDirectory;
    private Duration pollInterval = Duration.ofMillis(5);
    private Duration heartbeatInterval = Duration.ofSeconds(10);
    private Duration offsetFlushInterval = Duration.ofSeconds(1);
    private int maxBatchSize = 2048;
    private Duration retryInitialBackoff = Duration.ofMillis(50);
    private Duration retryMaxBackoff = Duration.ofSeconds(1);
    private Duration stallThreshold = Duration.ofSeconds(10);
    private Duration progressInterval = DEFAULT_PROGRESS_INTERVAL;
    private RedisDataLossPolicy redisDataLossPolicy = RedisDataLossPolicy.FLUSH_NAMESPACES;
    private int redisReplicasToAwait;
    private boolean redisAwaitAof;
    private Duration redisDurabilityTimeout = Duration.ofSeconds(1);
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private KafkaSource kafka;

    private Builder() {}

    /**
     * Kafka mode: read the change events Debezium (as a Kafka Connect source) wrote to Kafka, as one member of the
     * source's consumer group, instead of reading the binlog here. The database settings, the state directory, the
     * offset storage and the start policies of the embedded mode are then not used (positions are the group's
     * committed offsets); see the module README, "Kafka mode".
     */
    public Builder kafka(KafkaSource source) {
      this.kafka = Objects.requireNonNull(source, "kafka source must not be null");
      return this;
    }

    /** MARIADB (default, for MariaDB 11.4) or MYSQL (for MySQL 8.x). */
    public Builder connector(Connector connector) {
      this.connector = Objects.requireNonNull(connector, "connector must not be null");
      return this;
    }

    /** FILE (default, in the state directory), REDIS or JDBC; see {@link OffsetStorage}. */
    public Builder offsetStorage(OffsetStorage storage) {
      this.offsetStorage = Objects.requireNonNull(storage, "storage must not be null");
      return this;
    }

    /** Default FLUSH_AND_RESTART. Either way it is logged and counted ({@code veracache.cdc.purged.positions}). */
    public Builder purgedPositionPolicy(PurgedPositionPolicy policy) {
      this.purgedPositionPolicy = Objects.requireNonNull(policy, "policy must not be null");
      return this;
    }

    /**
     * No stored position at start (new state directory, evicted offset key): FLUSH_NAMESPACES (default) or
     * ASSUME_FRESH_INSTALL; see {@link FirstStartPolicy}. The choice taken is logged and counted
     * ({@code veracache.cdc.first.starts}).
     */
    public Builder firstStart(FirstStartPolicy policy) {
      this.firstStartPolicy = Objects.requireNonNull(policy, "firstStart policy must not be null");
      return this;
    }

    /**
     * A TRUNCATE, DROP, RENAME or CREATE OR REPLACE of a mapped table (no row event says which keys changed).
     * Default FLUSH_NAMESPACES. Either way it is logged and counted ({@code veracache.cdc.table.changes}); see
     * {@link WholeTableChangePolicy}.
     */
    public Builder wholeTableChangePolicy(WholeTableChangePolicy policy) {
      this.wholeTableChangePolicy = Objects.requireNonNull(policy, "wholeTableChangePolicy must not be null");
      return this;
    }

    /** The database the binlog is read from; the user needs REPLICATION SLAVE/CLIENT, SELECT, RELOAD (see README). */
    public Builder database(String host, int port, String user, String password) {
      this.host = Objects.requireNonNull(host, "host must not be null");
      if (port <= 0 || port > 65535) {
        throw new IllegalArgumentException("database port must be in 1..65535, was " + port);
      }
      this.port = port;
      this.user = Objects.requireNonNull(user, "user must not be null");
      this.password = password == null ? "" : password;
      return this;
    }

    /** TLS to the database (off by default). */
    public Builder databaseSsl(boolean ssl) {
      this.ssl = ssl;
      return this;
    }

    /** The replication client id; unique among all replicas and listeners of that server. Default 5400. */
    public Builder serverId(long serverId) {
      if (serverId <= 0) {
        throw new IllegalArgumentException("serverId must be positive, was " + serverId);
      }
      this.serverId = serverId;
      return this;
    }

    /** The listener's name (Debezium engine name and topic prefix). Default {@code veracache-cdc}. */
    public Builder name(String name) {
      if (name == null || !name.matches("[A-Za-z0-9_\\-]{1,64}")) {
        throw new IllegalArgumentException("name '" + name + "' must be 1-64 letters, digits, '_' or '-'");
      }
      this.name = name;
      return this;
    }

    public Builder redis(VeracacheOptions redis) {
      this.redis = Objects.requireNonNull(redis, "redis must not be null");
      return this;
    }

    public Builder mappings(InvalidationMappings mappings) {
      this.mappings = Objects.requireNonNull(mappings, "mappings must not be null");
      return this;
    }

    /** Where offsets ({@code offsets.dat}) and schema history ({@code schema-history.dat}) are kept. */
    public Builder stateDirectory(Path dir) {
      this.stateDirectory = Objects.requireNonNull(dir, "stateDirectory must not be null");
      return this;
    }

    /** Debezium's poll interval: it dominates commit-to-invalidation latency. Default 5 ms. */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = positive(interval, "pollInterval");
      return this;
    }

    /** Heartbeats keep the stored position fresh while mapped tables are quiet. Default 10 s. */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = positive(interval, "heartbeatInterval");
      return this;
    }

    /**
     * How often applied positions are flushed to the offset storage; 0 = after every batch. Default 1 s. Only
     * positions whose invalidations Redis took are ever flushed (whatever the interval), and a clean close flushes
     * them all; a crash replays what was applied since the last flush (at most about this long, invalidations are
     * idempotent). Flushing after every batch cost 3-4 ms of every batch on a loaded 2-core machine (see the
     * module's README, "Benchmark").
     */
    public Builder offsetFlushInterval(Duration interval) {
      if (interval == null || interval.isNegative()) {
        throw new IllegalArgumentException("offsetFlushInterval must be >= 0, was " + interval);
      }
      this.offsetFlushInterval = interval;
      return this;
    }

    /**
     * Backoff between retries while Redis refuses invalidations: exponential from initial (50 ms) to max (1 s). The
     * max bounds how long after Redis recovers a retried invalidation can still be waiting, and so how long an
     * instance can read a stale L2 entry after an outage: keep it short.
     */
    public Builder retryBackoff(Duration initial, Duration max) {
      this.retryInitialBackoff = positive(initial, "retryBackoff initial");
      this.retryMaxBackoff = positive(max, "retryBackoff max");
      return this;
    }

    /**
     * How long a batch may be retried before the listener reports itself stalled ({@link CdcInvalidator#isStalled()},
     * not live, health down, an ERROR log line, {@code veracache.cdc.stalled} = 1). It recovers by itself once Redis
     * takes the batch. Default 10 s.
     */
    public Builder stallThreshold(Duration threshold) {
      this.stallThreshold = positive(threshold, "stallThreshold");
      return this;
    }

    /**
     * The most change events handed over (and pipelined to Redis, and acknowledged) at once; Debezium's
     * {@code max.batch.size}. Larger batches raise bulk throughput and the number of events replayed after a crash.
     * Default 2048.
     */
    public Builder maxBatchSize(int maxBatchSize) {
      if (maxBatchSize <= 0) {
        throw new IllegalArgumentException("maxBatchSize must be positive, was " + maxBatchSize);
      }
      this.maxBatchSize = maxBatchSize;
      return this;
    }

    /**
     * How often the listener proves its progress: it writes a marker row, and once that row came back through the
     * binlog and every invalidation before it is in Redis, it publishes in Redis that everything committed before the
     * marker is applied ({@code veracache:progress:<namespace>}), checking at the same time that Redis has not lost
     * what it acknowledged (see {@link #redisDataLossPolicy}). Clients with
     * {@code CacheOptions.listenerStalenessBound} trust a namespace only while that progress is recent; give them a
     * bound of at least twice this interval. Default {@value #DEFAULT_PROGRESS_INTERVAL_MILLIS} ms.
     */
    public Builder progressInterval(Duration interval) {
      this.progressInterval = positive(interval, "progressInterval");
      return this;
    }

    /** What to do when Redis lost invalidations it had acknowledged. Default FLUSH_NAMESPACES. */
    public Builder redisDataLossPolicy(RedisDataLossPolicy policy) {
      this.redisDataLossPolicy = Objects.requireNonNull(policy, "redisDataLossPolicy must not be null");
      return this;
    }

    /**
     * Acknowledge a position only once its invalidations are on {@code replicas} Redis replicas ({@code WAIT}) and,
     * with {@code appendOnlyFile}, fsynced to the primary's append-only file ({@code WAITAOF}: Redis 7.2 or newer with
     * {@code appendonly yes}; checked at start), within {@code timeout}; otherwise the batch is retried (and counts
     * towards a stall). For those who run replicas and fail over: without it, an invalidation acknowledged by a primary
     * that dies before replicating it is lost until the data-loss check notices. Default: neither.
     */
    public Builder redisDurability(int replicas, boolean appendOnlyFile, Duration timeout) {
      if (replicas < 0) {
        throw new IllegalArgumentException("redisDurability: replicas must be >= 0, was " + replicas);
      }
      this.redisReplicasToAwait = replicas;
      this.redisAwaitAof = appendOnlyFile;
      this.redisDurabilityTimeout = positive(timeout, "redisDurability timeout");
      return this;
    }

    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry must not be null");
      return this;
    }

    public CdcOptions build() {
      require(redis != null, "redis(...)");
      require(mappings != null, "mappings(...)");
      if (kafka != null) {
        return new CdcOptions(this); // no binlog read here: no database, state directory or offset store
      }
      require(host != null, "database(host, port, user, password)");
      require(stateDirectory != null, "stateDirectory(...)");
      if (offsetStorage == OffsetStorage.REDIS && redis.isCluster()) {
        throw new IllegalArgumentException("CdcOptions: offsetStorage REDIS is not supported when redis(...) is a "
            + "Redis Cluster (Debezium's Redis offset store talks to one Redis): store the position in FILE or JDBC");
      }
      if (offsetStorage == OffsetStorage.JDBC && password.isEmpty()) {
        throw new IllegalArgumentException("CdcOptions: offsetStorage JDBC needs a database password (Debezium's JDBC "
            + "offset store refuses an empty one)");
      }
      return new CdcOptions(this);
    }

    private static void require(boolean present, String setting) {
      if (!present) {
        throw new IllegalArgumentException("CdcOptions: " + setting + " is required");
      }
    }

    private static Duration positive(Duration d, String name) {
      if (d == null || d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(name + " must be positive, was " + d);
      }
      return d;
    }
  }
}
