package dev.veracache.spring.cdc;

import dev.veracache.cdc.CdcOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The CDC listener's settings, under {@code veracache.cdc} (YAML, or environment variables such as
 * {@code VERACACHE_CDC_DATABASE_HOST}, {@code VERACACHE_CDC_DATABASE_PASSWORD}, {@code VERACACHE_CDC_REDIS_URI}). The
 * names and defaults are the CDC sidecar's, so a sidecar configuration works unchanged.
 *
 * @param enabled run the listener in this application (default false)
 * @param autoStartup start the listener with the context (default true); false: start the
 *     {@link CdcInvalidatorLifecycle} bean yourself
 * @param connector MARIADB (default) or MYSQL
 * @param database where the binlog is read from
 * @param redis where the invalidations go; credentials and TLS in the URI ({@code rediss://user:pw@host:port}); when
 *     {@code uri} is not set, the cache's {@code veracache.redis.uri}, else {@code redis://127.0.0.1:6379}; a Redis
 *     Cluster by {@code cluster-nodes} (or the cache's {@code veracache.redis.cluster-nodes})
 * @param mappings the YAML file of table mappings (see cdc-invalidator's README); or {@code tables}, not both
 * @param tables the table mappings inline, the same fields as the mapping file's entries
 * @param stateDirectory where offsets and schema history are kept
 * @param serverId replication client id, unique among the server's replicas and listeners
 * @param name listener name (metrics tag, engine name)
 * @param purgedPositionPolicy FLUSH_AND_RESTART (default) or FAIL
 * @param offsetStorage FILE (default, in stateDirectory), REDIS (the cache's Redis; needs persistence) or JDBC
 * @param pollInterval Debezium poll interval (dominates latency)
 * @param heartbeatInterval keeps the stored position fresh while tables are quiet
 * @param firstStart no stored position at start (new state directory, lost offsets): FLUSH_NAMESPACES (default:
 *     flush the mapped namespaces once live) or ASSUME_FRESH_INSTALL (nothing was cached before: flush nothing)
 * @param stallThreshold how long a batch Redis refuses may be retried before health goes DOWN as stalled
 * @param wholeTableChangePolicy TRUNCATE, DROP, RENAME of a mapped table: FLUSH_NAMESPACES (default) or FAIL
 * @param progressInterval how often the listener proves and publishes its progress for clients that bound their
 *     staleness ({@code listenerStalenessBound}, give them at least twice this)
 * @param redisDataLossPolicy Redis lost invalidations it had acknowledged (older snapshot, lagging replica, flush):
 *     FLUSH_NAMESPACES (default) or FAIL
 * @param redisDurability acknowledge a position only once its invalidations are on this many replicas ({@code WAIT})
 *     and, with {@code append-only-file}, fsynced to the primary's AOF ({@code WAITAOF}, Redis 7.2+); default neither
 * @param kafka Kafka mode: read the change events a Debezium connector in Kafka Connect wrote to Kafka, as one member of
 *     a consumer group, instead of reading the binlog here ({@code database}, {@code state-directory},
 *     {@code offset-storage}, {@code server-id}, {@code connector} and the position policies are then not used)
 */
@ConfigurationProperties(CdcProperties.PREFIX)
public record CdcProperties(
    @DefaultValue("false") boolean enabled,
    @DefaultValue("true") boolean autoStartup,
    @DefaultValue("MARIADB") CdcOptions.Connector connector,
    @DefaultValue Database database,
    @DefaultValue Redis redis,
    Path mappings,
    List<Table> tables,
    @DefaultValue("./cdc-state") Path stateDirectory,
    @DefaultValue("5400") long serverId,
    @DefaultValue("veracache-cdc") String name,
    @DefaultValue("FLUSH_AND_RESTART") CdcOptions.PurgedPositionPolicy purgedPositionPolicy,
    @DefaultValue("FILE") CdcOptions.OffsetStorage offsetStorage,
    @DefaultValue("5ms") Duration pollInterval,
    @DefaultValue("10s") Duration heartbeatInterval,
    @DefaultValue("FLUSH_NAMESPACES") CdcOptions.FirstStartPolicy firstStart,
    @DefaultValue("10s") Duration stallThreshold,
    @DefaultValue("FLUSH_NAMESPACES") CdcOptions.WholeTableChangePolicy wholeTableChangePolicy,
    @DefaultValue("500ms") Duration progressInterval,
    @DefaultValue("FLUSH_NAMESPACES") CdcOptions.RedisDataLossPolicy redisDataLossPolicy,
    @DefaultValue RedisDurability redisDurability,
    @DefaultValue Kafka kafka) {

  public static final String PREFIX = "veracache.cdc";

  public CdcProperties {
    tables = tables == null ? List.of() : List.copyOf(tables);
  }

  /**
   * One table mapping, the fields of a mapping file's entry (cdc-invalidator's README); checked by
   * {@link dev.veracache.cdc.InvalidationMappings} like a file's entry, every problem at once.
   *
   * @param table {@code database.table}
   * @param namespace the cache namespace its keys live in
   * @param keys key templates, each rendering the key after {@code namespace:} ({@code {id}}, {@code sku:{sku}})
   * @param version optional row version column
   * @param tombstoneTtl optional, default 60s ({@code 500ms}, {@code 60s}, {@code 2m} or {@code PT1M})
   */
  public record Table(String table, String namespace, List<String> keys, String version, String tombstoneTtl) {}

  /**
   * @param replicas {@code WAIT} for this many replicas
   * @param appendOnlyFile {@code WAITAOF} on the primary
   */
  public record RedisDurability(@DefaultValue("0") int replicas, @DefaultValue("false") boolean appendOnlyFile,
      @DefaultValue("1s") Duration timeout) {}

  /**
   * Kafka mode (see cdc-invalidator's README, "Kafka mode").
   *
   * @param enabled read change events from Kafka instead of the binlog (default false)
   * @param bootstrapServers {@code host:port[,host:port]} of the Kafka cluster
   * @param groupId the consumer group every invalidator of this change stream joins; default the listener's name
   * @param topicPattern regular expression of the topics read: the connector's schema-change topic and table topics,
   *     e.g. {@code shop(\..*)?} for {@code topic.prefix=shop}
   * @param topicRefresh how soon a new table's topic is read (default 5s)
   * @param consumer further Kafka consumer settings ({@code security.protocol}, {@code sasl.jaas.config}, timeouts); the
   *     ones the listener's guarantees depend on are refused, naming the setting
   */
  public record Kafka(@DefaultValue("false") boolean enabled, String bootstrapServers, String groupId,
      String topicPattern, @DefaultValue("5s") Duration topicRefresh, Map<String, String> consumer) {

    public Kafka {
      consumer = consumer == null ? Map.of() : Map.copyOf(consumer);
    }

    @Override
    public String toString() { // consumer settings may hold credentials (sasl.jaas.config): names only
      return "Kafka[enabled=" + enabled + ", bootstrapServers=" + bootstrapServers + ", groupId=" + groupId
          + ", topicPattern=" + topicPattern + ", consumer settings=" + consumer.keySet() + "]";
    }

    /** The library's source for these settings; a missing or bad one throws naming the {@code veracache.cdc.kafka} key. */
    public dev.veracache.cdc.KafkaSource toSource() {
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw new IllegalArgumentException(PREFIX + ".kafka.bootstrap-servers is required when " + PREFIX
            + ".kafka.enabled=true");
      }
      if (topicPattern == null || topicPattern.isBlank()) {
        throw new IllegalArgumentException(PREFIX + ".kafka.topic-pattern is required when " + PREFIX
            + ".kafka.enabled=true (for a connector with topic.prefix shop: shop(\\..*)?)");
      }
      dev.veracache.cdc.KafkaSource.Builder source = dev.veracache.cdc.KafkaSource.builder()
          .bootstrapServers(bootstrapServers).topicPattern(topicPattern).topicRefresh(topicRefresh);
      if (groupId != null && !groupId.isBlank()) {
        source.groupId(groupId);
      }
      consumer.forEach(source::consumerProperty);
      return source.build();
    }
  }

  /** @param password never logged */
  public record Database(@DefaultValue("127.0.0.1") String host, @DefaultValue("3306") int port,
      @DefaultValue("root") String user, @DefaultValue("") String password, @DefaultValue("false") boolean ssl) {

    @Override
    public String toString() {
      return "Database[host=" + host + ", port=" + port + ", user=" + user + ", ssl=" + ssl + "]";
    }
  }

  /**
   * @param uri null when not set: then the cache's {@code veracache.redis.uri} ({@link CdcConnectionDetails})
   * @param clusterNodes the seed nodes of a Redis Cluster, each a Redis URI; set this or {@code uri}, not both; when
   *     neither is set, the cache's {@code veracache.redis.cluster-nodes}
   */
  public record Redis(String uri, List<String> clusterNodes, @DefaultValue("500ms") Duration commandTimeout) {

    public Redis {
      clusterNodes = clusterNodes == null ? List.of()
          : clusterNodes.stream().filter(node -> node != null && !node.isBlank()).map(String::strip).toList();
    }

    @Override
    public String toString() {
      return "Redis[uri=" + CdcConnectionDetails.masked(uri) + ", clusterNodes="
          + clusterNodes.stream().map(CdcConnectionDetails::masked).toList() + ", commandTimeout=" + commandTimeout
          + "]";
    }
  }
}
