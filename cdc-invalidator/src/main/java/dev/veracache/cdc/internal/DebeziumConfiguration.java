package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The Debezium engine's configuration for a listener's options: connector, server id, capture lists, snapshot mode,
 * value handling, offset and schema-history storage, intervals.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>A pure function of the options.</b> It builds nothing and contacts nothing (no database, no Redis, no
 *       connector), so unit tests check it without servers.</li>
 *   <li><b>It carries the database (and storage) passwords:</b> never log the result; Debezium's own messages that
 *       echo it are masked by {@link Secrets}.</li>
 * </ul>
 */
public final class DebeziumConfiguration {

  /** How often the binlog client checks its connection and reconnects after the database went away. */
  public static final Duration BINLOG_RECONNECT_INTERVAL = Duration.ofSeconds(1);

  /**
   * The connector settings the mapping of events depends on, whoever runs the connector (this listener's engine, or a
   * Kafka Connect worker in Kafka mode): DDL events (DROP/RENAME/CREATE OR REPLACE of a mapped table flush its
   * namespace, see ChangeEventMapper); truncate events (op "t"), which Debezium skips by default; and the value
   * encodings KeyRendering decodes: exact unsigned BIGINTs and decimals, microsecond time types, raw bytes.
   */
  public static final Map<String, String> EVENT_SHAPE = Map.of(
      "include.schema.changes", "true",
      "skipped.operations", "none",
      "bigint.unsigned.handling.mode", "precise",
      "decimal.handling.mode", "precise",
      "time.precision.mode", "adaptive_time_microseconds",
      "binary.handling.mode", "bytes");

  private DebeziumConfiguration() {}

  /** The engine properties for these options. */
  public static Properties of(CdcOptions options) {
    Properties props = new Properties();
    props.setProperty("name", options.name());
    props.setProperty("connector.class", options.connector().connectorClass());
    props.setProperty("database.hostname", options.host());
    props.setProperty("database.port", Integer.toString(options.port()));
    props.setProperty("database.user", options.user());
    props.setProperty("database.password", options.password());
    props.setProperty("database.server.id", Long.toString(options.serverId()));
    props.setProperty("database.ssl.mode", options.ssl() ? "required" : options.connector().sslDisabled());
    props.setProperty("topic.prefix", options.name());
    props.setProperty("database.include.list", String.join(",", options.mappings().databases()));
    props.setProperty("snapshot.mode", "no_data");
    props.setProperty("snapshot.locking.mode", "none");
    props.putAll(EVENT_SHAPE);
    storageProperties(options, props);
    props.setProperty("offset.flush.interval.ms", Long.toString(options.offsetFlushInterval().toMillis()));
    props.setProperty("poll.interval.ms", Long.toString(options.pollInterval().toMillis()));
    props.setProperty("max.batch.size", Integer.toString(options.maxBatchSize()));
    props.setProperty("max.queue.size", Integer.toString(Math.max(8192, options.maxBatchSize() * 4)));
    props.setProperty("heartbeat.interval.ms", Long.toString(options.heartbeatInterval().toMillis()));
    // The binlog client's keep-alive thread is what reconnects after the database went away (a restart, a failover):
    // Debezium's default checks once a minute, so a listener would stream nothing for up to a minute while reporting
    // itself live. Found by the chaos db-restart scenario once quiescence waited for the listener.
    props.setProperty("connect.keep.alive", "true");
    props.setProperty("connect.keep.alive.interval.ms", Long.toString(BINLOG_RECONNECT_INTERVAL.toMillis()));
    props.setProperty("bootstrap.servers", "unused:9092"); // required by Kafka 4.2 config classes, never contacted
    return props;
  }

  /** The JDBC URL of one database of the captured server (the listener's own connections and JDBC storage). */
  public static String jdbcUrl(CdcOptions options, String database) {
    return "jdbc:mysql://" + options.host() + ":" + options.port() + "/" + database + "?useSSL=" + options.ssl()
        + "&allowPublicKeyRetrieval=true&connectTimeout=5000";
  }

  /** Offsets and schema history: in the state directory, the cache's Redis, or tables of the captured database. */
  private static void storageProperties(CdcOptions options, Properties props) {
    switch (options.offsetStorage()) {
      case FILE -> {
        props.setProperty("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
        props.setProperty("schema.history.internal.file.filename",
            options.stateDirectory().resolve("schema-history.dat").toString());
        props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        props.setProperty("offset.storage.file.filename", options.stateDirectory().resolve("offsets.dat").toString());
      }
      case REDIS -> {
        io.lettuce.core.RedisURI uri = options.redis().redisUri();
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
        props.setProperty("offset.storage.redis.key", "veracache:cdc:" + options.name() + ":offsets");
        props.setProperty("schema.history.internal.redis.key", "veracache:cdc:" + options.name() + ":schema_history");
      }
      case JDBC -> {
        props.setProperty("offset.storage", "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore");
        props.setProperty("schema.history.internal", "io.debezium.storage.jdbc.history.JdbcSchemaHistory");
        for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
          props.setProperty(prefix + "jdbc.connection.url", jdbcUrl(options, options.mappings().databases().get(0)));
          props.setProperty(prefix + "jdbc.connection.user", options.user());
          props.setProperty(prefix + "jdbc.connection.password", options.password());
        }
        props.setProperty("offset.storage.jdbc.table.name", ListenerState.JDBC_OFFSETS_TABLE);
        props.setProperty("schema.history.internal.jdbc.table.name", ListenerState.JDBC_SCHEMA_HISTORY_TABLE);
      }
      default -> throw new IllegalStateException("unknown offset storage " + options.offsetStorage());
    }
  }
}
