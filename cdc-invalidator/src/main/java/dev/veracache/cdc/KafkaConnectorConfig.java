package dev.veracache.cdc;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The Kafka Connect configuration of the Debezium connector whose topics listeners in Kafka mode read: what one PUTs to
 * {@code /connectors/<name>/config} (the map has {@code name} too, for a standalone worker's file). It carries
 * {@link KafkaSource#CONNECTOR_SETTINGS}, starts at the current binlog position without reading rows
 * ({@code snapshot.mode=no_data}, no locks) and polls every 5 ms (Debezium's default, 500 ms, is the latency).
 *
 * <pre>{@code
 * Map<String, String> shop = KafkaConnectorConfig.builder("shop", "shop")
 *     .connector(CdcOptions.Connector.MYSQL)
 *     .database("db.internal", 3306, "cdc", password)
 *     .serverId(5401)
 *     .databases("shop")
 *     .kafkaSchemaHistory("kafka-1:9092", "shop-schema-history")
 *     .build();
 * }</pre>
 */
public final class KafkaConnectorConfig {

  private KafkaConnectorConfig() {}

  /**
   * @param name the connector's name in Kafka Connect
   * @param topicPrefix Debezium's {@code topic.prefix}: its schema-change topic, and the start of every table topic
   */
  public static Builder builder(String name, String topicPrefix) {
    return new Builder(name, topicPrefix);
  }

  public static final class Builder {
    private final String name;
    private final String topicPrefix;
    private CdcOptions.Connector connector = CdcOptions.Connector.MARIADB;
    private String host;
    private int port;
    private String user;
    private String password;
    private boolean ssl;
    private long serverId;
    private List<String> databases = List.of();
    private final Map<String, String> schemaHistory = new LinkedHashMap<>();
    private int partitions = 6;
    private int replicationFactor = 1;
    private Duration pollInterval = Duration.ofMillis(5);

    private Builder(String name, String topicPrefix) {
      this.name = requireText(name, "name");
      this.topicPrefix = requireText(topicPrefix, "topicPrefix");
    }

    /** MARIADB (default) or MYSQL. */
    public Builder connector(CdcOptions.Connector connector) {
      this.connector = Objects.requireNonNull(connector, "connector must not be null");
      return this;
    }

    public Builder database(String host, int port, String user, String password) {
      this.host = requireText(host, "host");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("database port must be in 1..65535, was " + port);
      }
      this.port = port;
      this.user = requireText(user, "user");
      this.password = Objects.requireNonNull(password, "password must not be null (empty for none)");
      return this;
    }

    /** TLS to the database (default off). */
    public Builder ssl(boolean ssl) {
      this.ssl = ssl;
      return this;
    }

    /** The connector's replication client id: unique among the server's replicas and listeners. */
    public Builder serverId(long serverId) {
      if (serverId <= 0) {
        throw new IllegalArgumentException("serverId must be positive, was " + serverId);
      }
      this.serverId = serverId;
      return this;
    }

    /** The databases captured ({@code database.include.list}). */
    public Builder databases(String... databases) {
      if (databases.length == 0) {
        throw new IllegalArgumentException("databases: name at least one");
      }
      for (String database : databases) {
        requireText(database, "database");
      }
      this.databases = List.of(databases);
      return this;
    }

    /** The schema history in a Kafka topic (what a Connect cluster uses). */
    public Builder kafkaSchemaHistory(String bootstrapServers, String topic) {
      schemaHistory.clear();
      schemaHistory.put("schema.history.internal", "io.debezium.storage.kafka.history.KafkaSchemaHistory");
      schemaHistory.put("schema.history.internal.kafka.bootstrap.servers", requireText(bootstrapServers,
          "bootstrapServers"));
      schemaHistory.put("schema.history.internal.kafka.topic", requireText(topic, "topic"));
      return this;
    }

    /** The schema history in a file of the worker's machine (a standalone worker). */
    public Builder fileSchemaHistory(Path file) {
      schemaHistory.clear();
      schemaHistory.put("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
      schemaHistory.put("schema.history.internal.file.filename",
          Objects.requireNonNull(file, "file must not be null").toString());
      return this;
    }

    /** Partitions of every topic the connector creates (default 6): the most members a group can keep busy. */
    public Builder partitions(int partitions) {
      if (partitions < 1) {
        throw new IllegalArgumentException("partitions must be positive, was " + partitions);
      }
      this.partitions = partitions;
      return this;
    }

    /** Replication factor of the topics the connector creates (default 1: a single broker). */
    public Builder replicationFactor(int replicationFactor) {
      if (replicationFactor < 1) {
        throw new IllegalArgumentException("replicationFactor must be positive, was " + replicationFactor);
      }
      this.replicationFactor = replicationFactor;
      return this;
    }

    /** Debezium's {@code poll.interval.ms} (default 5 ms). */
    public Builder pollInterval(Duration interval) {
      if (interval == null || interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("pollInterval must be positive, was " + interval);
      }
      this.pollInterval = interval;
      return this;
    }

    /** The configuration, {@code name} included; every setting Kafka mode depends on is in it. */
    public Map<String, String> build() {
      if (host == null) {
        throw new IllegalArgumentException("KafkaConnectorConfig " + name + ": database(host, port, user, password) "
            + "is required");
      }
      if (serverId == 0) {
        throw new IllegalArgumentException("KafkaConnectorConfig " + name + ": serverId(...) is required");
      }
      if (databases.isEmpty()) {
        throw new IllegalArgumentException("KafkaConnectorConfig " + name + ": databases(...) is required");
      }
      if (schemaHistory.isEmpty()) {
        throw new IllegalArgumentException("KafkaConnectorConfig " + name + ": kafkaSchemaHistory(...) or "
            + "fileSchemaHistory(...) is required");
      }
      Map<String, String> config = new LinkedHashMap<>();
      config.put("name", name);
      config.put("connector.class", connector.connectorClass());
      config.put("database.hostname", host);
      config.put("database.port", Integer.toString(port));
      config.put("database.user", user);
      config.put("database.password", password);
      config.put("database.ssl.mode", ssl ? "required" : connector.sslDisabled());
      config.put("database.server.id", Long.toString(serverId));
      config.put("database.include.list", String.join(",", databases));
      config.put("topic.prefix", topicPrefix);
      config.put("snapshot.mode", "no_data");
      config.put("snapshot.locking.mode", "none");
      config.put("poll.interval.ms", Long.toString(pollInterval.toMillis()));
      config.putAll(schemaHistory);
      config.put("topic.creation.default.partitions", Integer.toString(partitions));
      config.put("topic.creation.default.replication.factor", Integer.toString(replicationFactor));
      config.putAll(KafkaSource.CONNECTOR_SETTINGS);
      return java.util.Collections.unmodifiableMap(config);
    }

    private static String requireText(String value, String what) {
      Objects.requireNonNull(value, what + " must not be null");
      if (value.isBlank()) {
        throw new IllegalArgumentException(what + " must not be blank");
      }
      return value;
    }
  }
}
