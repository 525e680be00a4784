package dev.veracache.spring.cdc;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;

/**
 * {@link CdcConnectionDetails} from {@code veracache.cdc.*}. Redis: {@code veracache.cdc.redis.uri} or
 * {@code veracache.cdc.redis.cluster-nodes}, else the cache's {@code veracache.redis.uri} or
 * {@code veracache.redis.cluster-nodes} (read from the {@link Environment}: one Redis for cache and listener is the
 * usual setup), else {@code redis://127.0.0.1:6379} (the sidecar's default).
 */
public final class PropertiesCdcConnectionDetails implements CdcConnectionDetails {

  /** The cache's Redis, the listener's default. */
  public static final String CACHE_REDIS_URI = "veracache.redis.uri";
  static final String DEFAULT_REDIS_URI = "redis://127.0.0.1:6379";
  /** The cache's Redis Cluster, the listener's default when no Redis URI is set. */
  public static final String CACHE_CLUSTER_NODES = "veracache.redis.cluster-nodes";

  private final CdcProperties properties;
  private final String redisUri;
  private final List<String> redisClusterNodes;

  /**
   * @throws CdcConfigurationException when {@code veracache.cdc.redis.uri} and {@code veracache.cdc.redis.cluster-nodes}
   *     are both set
   */
  public PropertiesCdcConnectionDetails(CdcProperties properties, Environment environment) {
    this.properties = properties;
    String own = properties.redis().uri();
    boolean ownUri = own != null && !own.isBlank();
    List<String> ownNodes = properties.redis().clusterNodes();
    if (ownUri && !ownNodes.isEmpty()) {
      throw new CdcConfigurationException(CdcProperties.PREFIX + ".redis.uri and " + CdcProperties.PREFIX
          + ".redis.cluster-nodes are both set", "Set uri for one Redis, or cluster-nodes for a Redis Cluster, and "
          + "start again.");
    }
    String cache = environment.getProperty(CACHE_REDIS_URI);
    boolean cacheUri = cache != null && !cache.isBlank();
    this.redisUri = ownUri ? own : cacheUri ? cache : DEFAULT_REDIS_URI;
    // The listener's own Redis first; else the cache's, whichever form it has.
    this.redisClusterNodes = !ownNodes.isEmpty() || ownUri || cacheUri ? ownNodes
        : Binder.get(environment).bind(CACHE_CLUSTER_NODES, Bindable.listOf(String.class)).orElse(List.of()).stream()
            .filter(node -> node != null && !node.isBlank()).map(String::strip).toList();
  }

  @Override
  public List<String> redisClusterNodes() {
    return redisClusterNodes;
  }

  @Override
  public String databaseHost() {
    return properties.database().host();
  }

  @Override
  public int databasePort() {
    return properties.database().port();
  }

  @Override
  public String databaseUser() {
    return properties.database().user();
  }

  @Override
  public String databasePassword() {
    return properties.database().password();
  }

  @Override
  public boolean databaseSsl() {
    return properties.database().ssl();
  }

  @Override
  public String redisUri() {
    return redisUri;
  }

  @Override
  public Path stateDirectory() {
    return properties.stateDirectory();
  }

  @Override
  public String toString() {
    return databaseHost() + ":" + databasePort();
  }
}
