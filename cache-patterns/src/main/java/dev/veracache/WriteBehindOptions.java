package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Settings of one write-behind cache ({@link Veracache#writeBehind}) and of its flusher
 * ({@link Veracache#writeBehindFlusher}): the cache (its namespace, codec, TTLs), the Kafka cluster and topic that
 * hold the log, and how a key in the log becomes a {@code K} again.
 *
 * <pre>{@code
 * WriteBehindOptions<Long, Stock> options = WriteBehindOptions
 *     .builder(CacheOptions.<Long, Stock>builder("stock", ValueCodec.json(Stock.class)).version(Stock::version).build(),
 *         "kafka-1:9092,kafka-2:9092", "veracache.stock")
 *     .keyDecoder(Long::valueOf)
 *     .kafkaProperty("security.protocol", "SSL")
 *     .build();
 * }</pre>
 *
 * <p>The topic must exist (partitions are the unit of per-key order and of flusher parallelism; do not change their
 * number while writes are in the log: a key would move to another partition). Kafka properties (TLS, SASL) are passed
 * to the producer, the consumer and the admin client as given; they are never logged.
 */
public final class WriteBehindOptions<K, V> {

  /** How long {@code put} waits for Kafka to acknowledge a write before it fails (and acknowledges nothing). */
  public static final Duration DEFAULT_SEND_TIMEOUT = Duration.ofSeconds(10);
  /**
   * How long a write not flushed yet stays cached: the flusher's fence gives it the cache's normal {@code ttl} once
   * the database has it. Read your writes holds through a database outage (or a flusher down) this long.
   */
  public static final Duration DEFAULT_PENDING_TTL = Duration.ofHours(24);
  /** How long creating it waits for Kafka to answer and to describe the topics (a cold JVM's first call is slow). */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(15);

  /** Properties Veracache sets itself: the guarantees rest on them. */
  static final Set<String> RESERVED_PROPERTIES = Set.of("bootstrap.servers", "acks", "enable.idempotence",
      "key.serializer", "value.serializer", "key.deserializer", "value.deserializer", "enable.auto.commit",
      "group.id", "delivery.timeout.ms", "isolation.level");

  final CacheOptions<K, V> cache;
  final String bootstrapServers;
  final String topic;
  final Function<String, K> keyDecoder; // null: only a flusher needs it
  final Map<String, String> kafkaProperties;
  final Duration sendTimeout;
  final Duration startupTimeout;
  final Duration pendingTtl;

  private WriteBehindOptions(Builder<K, V> b) {
    this.cache = b.cache;
    this.bootstrapServers = b.bootstrapServers;
    this.topic = b.topic;
    this.keyDecoder = b.keyDecoder;
    this.kafkaProperties = Map.copyOf(b.kafkaProperties);
    this.sendTimeout = b.sendTimeout;
    this.startupTimeout = b.startupTimeout;
    this.pendingTtl = b.pendingTtl.compareTo(b.cache.ttl) >= 0 ? b.pendingTtl : b.cache.ttl;
  }

  /**
   * @param cache the cache that holds the written values; it must be versioned ({@link CacheOptions.Builder#version}),
   *     because the database row stores the version each write gets, which is what fills read back
   * @param bootstrapServers the Kafka cluster, {@code host:port[,host:port...]}
   * @param topic the log; it must exist
   */
  public static <K, V> Builder<K, V> builder(CacheOptions<K, V> cache, String bootstrapServers, String topic) {
    return new Builder<>(cache, bootstrapServers, topic);
  }

  LogSettings logSettings() {
    return new LogSettings("cache '" + cache.namespace + "'", bootstrapServers, kafkaProperties, sendTimeout,
        startupTimeout);
  }

  public CacheOptions<K, V> cache() {
    return cache;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String topic() {
    return topic;
  }

  public Duration sendTimeout() {
    return sendTimeout;
  }

  /** Builds {@link WriteBehindOptions}. */
  public static final class Builder<K, V> {
    private final CacheOptions<K, V> cache;
    private final String bootstrapServers;
    private final String topic;
    private Function<String, K> keyDecoder;
    private final Map<String, String> kafkaProperties = new LinkedHashMap<>();
    private Duration sendTimeout = DEFAULT_SEND_TIMEOUT;
    private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
    private Duration pendingTtl = DEFAULT_PENDING_TTL;

    private Builder(CacheOptions<K, V> cache, String bootstrapServers, String topic) {
      this.cache = notNull(cache, "cache");
      this.bootstrapServers = notNull(bootstrapServers, "bootstrapServers").trim();
      check(!this.bootstrapServers.isEmpty(), "cache '" + cache.namespace + "': bootstrapServers must not be empty");
      this.topic = notNull(topic, "topic");
      check(topic.matches("[A-Za-z0-9._-]{1,249}") && !topic.equals(".") && !topic.equals(".."), "cache '"
          + cache.namespace + "': topic '" + topic + "' is not a Kafka topic name (letters, digits, . _ -, at most 249)");
      check(cache.versioned(), "cache '" + cache.namespace + "': write-behind needs versioned values; set "
          + "CacheOptions.Builder.version(...) to read the version the database row stores");
    }

    /**
     * How the log's key text (what the cache's key encoder made of a key) becomes a {@code K} again, for the
     * flusher; {@code Function.identity()} for String keys. Required by {@link Veracache#writeBehindFlusher}.
     */
    public Builder<K, V> keyDecoder(Function<String, K> keyDecoder) {
      this.keyDecoder = notNull(keyDecoder, "keyDecoder");
      return this;
    }

    /**
     * A Kafka client property (TLS, SASL, client.id, linger.ms ...), passed to the producer, consumer and admin client.
     *
     * @throws IllegalArgumentException for a property Veracache sets itself (acks, idempotence, serializers, group.id,
     *     auto commit, delivery.timeout.ms: use {@link #sendTimeout})
     */
    public Builder<K, V> kafkaProperty(String name, String value) {
      notNull(name, "name");
      notNull(value, "value");
      check(!RESERVED_PROPERTIES.contains(name), "cache '" + cache.namespace + "': Kafka property '" + name
          + "' is set by Veracache (its guarantees rest on it) and cannot be overridden");
      kafkaProperties.put(name, value);
      return this;
    }

    /** How long a put waits for the log; default {@link #DEFAULT_SEND_TIMEOUT}; at least 1 s. */
    /**
   * How long a write not flushed yet stays cached: the flusher's fence gives it the cache's normal {@code ttl} once
   * the database has it. Read your writes holds through a database outage (or a flusher down) this long.
   */
  public static final Duration DEFAULT_PENDING_TTL = Duration.ofHours(24);
  /** How long creating it waits for Kafka at start; default {@link #DEFAULT_STARTUP_TIMEOUT}. */
    public Builder<K, V> startupTimeout(Duration startupTimeout) {
      notNull(startupTimeout, "startupTimeout");
      check(!startupTimeout.isNegative() && !startupTimeout.isZero(), "cache '" + cache.namespace + "': startupTimeout must be positive, was " + startupTimeout);
      this.startupTimeout = startupTimeout;
      return this;
    }

    public Builder<K, V> sendTimeout(Duration sendTimeout) {
      notNull(sendTimeout, "sendTimeout");
      check(sendTimeout.compareTo(Duration.ofSeconds(1)) >= 0, "cache '" + cache.namespace
          + "': sendTimeout must be at least 1 s, was " + sendTimeout);
      this.sendTimeout = sendTimeout;
      return this;
    }

    public WriteBehindOptions<K, V> build() {
      return new WriteBehindOptions<>(this);
    }
  }
}
