package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;

import dev.veracache.testing.StockHooks;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Settings of a flash-sale stock ({@link Veracache#flashSaleStock}) and of its flusher ({@link Veracache#stockFlusher}):
 * the namespace of its Redis keys, the Kafka cluster and topic of its log, and the database table where the flusher
 * records which decrements it applied (exactly once per decrement).
 */
public final class StockOptions {

  public static final Duration DEFAULT_SEND_TIMEOUT = Duration.ofSeconds(10);
  /** How long creating it waits for Kafka to answer and to describe the topics (a cold JVM's first call is slow). */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(15);
  /** The table of applied decrement ids, in the flusher's database: see {@link #appliedTableDdl}. */
  public static final String DEFAULT_APPLIED_TABLE = "veracache_stock_ops";

  private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");

  final String namespace;
  final String bootstrapServers;
  final String topic;
  final Map<String, String> kafkaProperties;
  final Duration sendTimeout;
  final Duration startupTimeout;
  final Duration orphanAfter;
  final String appliedTable;
  final StockHooks hooks;

  private StockOptions(Builder b) {
    this.hooks = b.hooks;
    this.namespace = b.namespace;
    this.bootstrapServers = b.bootstrapServers;
    this.topic = b.topic;
    this.kafkaProperties = Map.copyOf(b.kafkaProperties);
    this.sendTimeout = b.sendTimeout;
    this.startupTimeout = b.startupTimeout;
    this.orphanAfter = b.orphanAfter != null ? b.orphanAfter : b.sendTimeout.multipliedBy(3);
    this.appliedTable = b.appliedTable;
  }

  /**
   * @param namespace names the stock's Redis keys ({@code veracache:stock:<namespace>:{<item>}}) and its log records
   * @param bootstrapServers the Kafka cluster, {@code host:port[,host:port...]}
   * @param topic the log; it must exist (and, for the flusher, {@code topic + ".dlt"})
   */
  public static Builder builder(String namespace, String bootstrapServers, String topic) {
    return new Builder(namespace, bootstrapServers, topic);
  }

  /** The table the flusher needs, for MySQL/MariaDB (create it with the stock table, in the same database). */
  public String appliedTableDdl() {
    return "CREATE TABLE " + appliedTable + " (op_id VARCHAR(64) PRIMARY KEY, outcome VARCHAR(8) NOT NULL)";
  }

  LogSettings logSettings() {
    return new LogSettings("stock '" + namespace + "'", bootstrapServers, kafkaProperties, sendTimeout,
        startupTimeout);
  }

  String counterKey(String item) {
    return "veracache:stock:" + namespace + ":{" + item + "}";
  }

  String pendingKey(String item) {
    return counterKey(item) + ":pending";
  }

  String itemsKey() {
    return "veracache:stock:" + namespace + ":items";
  }

  /** Builds {@link StockOptions}. */
  public static final class Builder {
    private final String namespace;
    private final String bootstrapServers;
    private final String topic;
    private final Map<String, String> kafkaProperties = new LinkedHashMap<>();
    private Duration sendTimeout = DEFAULT_SEND_TIMEOUT;
    private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
    private Duration orphanAfter;
    private String appliedTable = DEFAULT_APPLIED_TABLE;
    private StockHooks hooks = StockHooks.NONE;

    private Builder(String namespace, String bootstrapServers, String topic) {
      this.namespace = notNull(namespace, "namespace");
      check(NAMESPACE.matcher(namespace).matches(), "stock namespace '" + namespace
          + "' must be 1 to 64 letters, digits, '_', '.' or '-'");
      this.bootstrapServers = notNull(bootstrapServers, "bootstrapServers").trim();
      check(!this.bootstrapServers.isEmpty(), "stock '" + namespace + "': bootstrapServers must not be empty");
      this.topic = notNull(topic, "topic");
      check(topic.matches("[A-Za-z0-9._-]{1,249}"), "stock '" + namespace + "': topic '" + topic
          + "' is not a Kafka topic name (letters, digits, . _ -, at most 249)");
    }

    /** A Kafka client property (TLS, SASL ...); the ones the guarantees rest on are refused, naming them. */
    public Builder kafkaProperty(String name, String value) {
      notNull(name, "name");
      notNull(value, "value");
      check(!WriteBehindOptions.RESERVED_PROPERTIES.contains(name), "stock '" + namespace + "': Kafka property '"
          + name + "' is set by Veracache (its guarantees rest on it) and cannot be overridden");
      kafkaProperties.put(name, value);
      return this;
    }

    /** How long a decrement waits for the log; default {@link #DEFAULT_SEND_TIMEOUT}; at least 1 s. */
    /** How long creating it waits for Kafka at start; default {@link #DEFAULT_STARTUP_TIMEOUT}. */
    public Builder startupTimeout(Duration startupTimeout) {
      notNull(startupTimeout, "startupTimeout");
      check(!startupTimeout.isNegative() && !startupTimeout.isZero(), "stock '" + namespace + "': startupTimeout must be positive, was " + startupTimeout);
      this.startupTimeout = startupTimeout;
      return this;
    }

    public Builder sendTimeout(Duration sendTimeout) {
      notNull(sendTimeout, "sendTimeout");
      check(sendTimeout.compareTo(Duration.ofSeconds(1)) >= 0, "stock '" + namespace
          + "': sendTimeout must be at least 1 s, was " + sendTimeout);
      this.sendTimeout = sendTimeout;
      return this;
    }

    /**
     * How long a reservation may stay unsettled before the flusher asks the log about it (its buyer may have died
     * between taking the units and writing the log); default three send timeouts; at least two, so that a buyer
     * still waiting for the log has given up first.
     */
    public Builder orphanAfter(Duration orphanAfter) {
      this.orphanAfter = notNull(orphanAfter, "orphanAfter");
      return this;
    }

    /** The table of applied decrement ids; default {@link #DEFAULT_APPLIED_TABLE}. */
    public Builder appliedTable(String appliedTable) {
      notNull(appliedTable, "appliedTable");
      check(TABLE.matcher(appliedTable).matches(), "stock '" + namespace + "': appliedTable '" + appliedTable
          + "' is not a plain SQL identifier");
      this.appliedTable = appliedTable;
      return this;
    }

    /** Test seam: a callback at the crash point of a decrement; default {@link StockHooks#NONE}. */
    public Builder hooks(StockHooks hooks) {
      this.hooks = notNull(hooks, "hooks");
      return this;
    }

    public StockOptions build() {
      if (orphanAfter != null) {
        check(orphanAfter.compareTo(sendTimeout.multipliedBy(2)) >= 0, "stock '" + namespace + "': orphanAfter ("
            + orphanAfter + ") must be at least twice sendTimeout (" + sendTimeout + ")");
      }
      return new StockOptions(this);
    }
  }
}
