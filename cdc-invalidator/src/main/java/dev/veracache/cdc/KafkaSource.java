package dev.veracache.cdc;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Where a listener in Kafka mode reads its change events: Debezium running as a Kafka Connect source writes them to
 * topics, and every listener configured with the same {@link #groupId()} is one member of a consumer group that
 * shares the topics' partitions. Set it with {@link CdcOptions.Builder#kafka(KafkaSource)}.
 *
 * <p>The connector must write keys and values with Kafka Connect's {@code JsonConverter}, schemas enabled (Connect's
 * defaults), and use the record key (the row's primary key, Debezium's default) for partitioning, so that every change
 * of a row lands in one partition, in commit order.
 *
 * <pre>{@code
 * KafkaSource.builder()
 *     .bootstrapServers("kafka-1:9092,kafka-2:9092")
 *     .groupId("veracache-invalidators")
 *     .topicPattern("shop(\\..*)?")      // topic.prefix "shop": its schema-change topic and its table topics
 *     .consumerProperty("security.protocol", "SSL")
 *     .build();
 * }</pre>
 */
public final class KafkaSource {

  /**
   * The Debezium connector settings the listener's mapping of events depends on: set them on the connector that writes
   * the topics (the embedded mode sets them on its own engine). Without them TRUNCATE and DDL events are not written,
   * and keys built from unsigned, decimal, time or binary columns are rendered from another encoding.
   */
  public static final Map<String, String> CONNECTOR_SETTINGS = dev.veracache.cdc.internal.DebeziumConfiguration
      .EVENT_SHAPE;

  /** Consumer settings the listener owns: its correctness depends on them. */
  static final Set<String> OWNED_PROPERTIES = Set.of("bootstrap.servers", "group.id", "enable.auto.commit",
      "auto.offset.reset", "key.deserializer", "value.deserializer", "isolation.level");

  private final String bootstrapServers;
  private final String groupId;
  private final Pattern topicPattern;
  private final Duration topicRefresh;
  private final Map<String, String> consumerProperties;

  private KafkaSource(Builder b) {
    this.bootstrapServers = b.bootstrapServers;
    this.groupId = b.groupId;
    this.topicPattern = b.topicPattern;
    this.topicRefresh = b.topicRefresh;
    this.consumerProperties = Map.copyOf(b.consumerProperties);
  }

  /** {@code host:port[,host:port...]} of the Kafka cluster. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The consumer group every invalidator of this change stream joins. */
  public String groupId() {
    return groupId;
  }

  /** The topics read: every topic whose whole name matches, including ones created later. */
  public Pattern topicPattern() {
    return topicPattern;
  }

  /** How often the member looks for new topics matching the pattern (a table's topic appears with its first change). */
  public Duration topicRefresh() {
    return topicRefresh;
  }

  /** Further consumer settings (security, timeouts), passed to the Kafka consumer as given. */
  public Map<String, String> consumerProperties() {
    return consumerProperties;
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String toString() {
    return "Kafka " + bootstrapServers + ", group " + groupId + ", topics matching " + topicPattern.pattern();
  }

  public static final class Builder {
    private String bootstrapServers;
    private String groupId;
    private Pattern topicPattern;
    private Duration topicRefresh = Duration.ofSeconds(5);
    private final Map<String, String> consumerProperties = new LinkedHashMap<>();

    private Builder() {}

    public Builder bootstrapServers(String bootstrapServers) {
      Objects.requireNonNull(bootstrapServers, "bootstrapServers must not be null");
      if (bootstrapServers.isBlank()) {
        throw new IllegalArgumentException("kafka bootstrapServers must not be blank");
      }
      this.bootstrapServers = bootstrapServers;
      return this;
    }

    /** Every invalidator of one change stream uses the same group id; the default is the listener's name. */
    public Builder groupId(String groupId) {
      Objects.requireNonNull(groupId, "groupId must not be null");
      if (groupId.isBlank()) {
        throw new IllegalArgumentException("kafka groupId must not be blank");
      }
      this.groupId = groupId;
      return this;
    }

    /**
     * A Java regular expression matched against whole topic names: the connector's schema-change topic (named by its
     * {@code topic.prefix}) and its table topics ({@code <prefix>.<database>.<table>}), e.g. {@code shop(\..*)?}.
     */
    public Builder topicPattern(String regex) {
      Objects.requireNonNull(regex, "topicPattern must not be null");
      try {
        this.topicPattern = Pattern.compile(regex);
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("kafka topicPattern '" + regex + "' is not a regular expression: "
            + e.getDescription(), e);
      }
      return this;
    }

    /** Default 5 s: how soon a new table's topic is read (its records wait in Kafka meanwhile). */
    public Builder topicRefresh(Duration interval) {
      if (interval == null || interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("kafka topicRefresh must be positive, was " + interval);
      }
      this.topicRefresh = interval;
      return this;
    }

    /**
     * A Kafka consumer setting, e.g. {@code security.protocol}. Settings the listener's guarantees depend on
     * (bootstrap.servers, group.id, enable.auto.commit, auto.offset.reset, the deserializers, isolation.level) are
     * refused.
     */
    public Builder consumerProperty(String name, String value) {
      Objects.requireNonNull(name, "consumer property name must not be null");
      Objects.requireNonNull(value, "consumer property '" + name + "' must not have a null value");
      if (OWNED_PROPERTIES.contains(name)) {
        throw new IllegalArgumentException("kafka consumer property '" + name + "' is set by the listener (offsets are "
            + "committed only after Redis took the invalidations); use the builder's own setting where there is one");
      }
      consumerProperties.put(name, value);
      return this;
    }

    /** Builds it; {@code groupId} defaults to the listener's name when the listener's options are built. */
    public KafkaSource build() {
      if (bootstrapServers == null) {
        throw new IllegalArgumentException("KafkaSource: bootstrapServers(...) is required");
      }
      if (topicPattern == null) {
        throw new IllegalArgumentException("KafkaSource: topicPattern(...) is required (for the connector's topic.prefix "
            + "shop: shop(\\..*)?)");
      }
      return new KafkaSource(this);
    }

  }

  /** A copy whose group defaults to the listener's name. */
  KafkaSource withDefaultGroup(String listenerName) {
    if (groupId != null) {
      return this;
    }
    Builder b = builder().bootstrapServers(bootstrapServers).topicPattern(topicPattern.pattern())
        .topicRefresh(topicRefresh).groupId(listenerName);
    consumerProperties.forEach(b::consumerProperty);
    return b.build();
  }
}
