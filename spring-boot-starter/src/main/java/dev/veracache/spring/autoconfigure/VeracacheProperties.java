package dev.veracache.spring.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The cache side of the starter, under {@code veracache.*}: the Redis link, the client's settings, per-cache settings
 * ({@code veracache.caches.<name>.*}) with defaults for caches not named ({@code veracache.cache-defaults.*}), and the
 * consistency inspector. The CDC listener's settings are under {@code veracache.cdc.*} (its own class).
 *
 * <p>Unset per-cache settings fall back to {@code cache-defaults}, then to the library's defaults
 * ({@code CacheOptions.DEFAULT_*}).
 */
@ConfigurationProperties("veracache")
public class VeracacheProperties {

  /** Whether the Veracache client and its cache manager are configured at all. */
  private boolean enabled = true;

  private final Redis redis = new Redis();

  private final Breaker breaker = new Breaker();

  private final L1 l1 = new L1();

  /** How often the client checks that Redis takes writes (a paused or read-only Redis is detected by it). */
  private Duration heartbeatInterval = Duration.ofMillis(250);

  /** How long reads keep bypassing Redis after it came back, so that refused invalidations land first. */
  private Duration recoveryGrace = Duration.ofMillis(1500);

  /** Settings for every cache not named under {@code veracache.caches}, and for unset settings of those named. */
  private final CacheSettings cacheDefaults = new CacheSettings();

  /** Per-cache settings, by cache name (the name in {@code @Cacheable}); these caches are created at start. */
  private final Map<String, CacheSettings> caches = new LinkedHashMap<>();

  /**
   * Whether a cache that is not named under {@code veracache.caches} is created on its first use, with
   * {@code cache-defaults}. When false, such a cache name is an error that names it.
   */
  private boolean dynamicCaches = true;

  /**
   * Packages whose classes may be read back from Redis by caches without a {@code value-type} (besides the
   * application's own packages and a few JDK value types); a record naming any other class is not read.
   */
  private List<String> trustedPackages = new ArrayList<>();

  private final Inspector inspector = new Inspector();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Redis getRedis() {
    return redis;
  }

  public Breaker getBreaker() {
    return breaker;
  }

  public L1 getL1() {
    return l1;
  }

  public Duration getHeartbeatInterval() {
    return heartbeatInterval;
  }

  public void setHeartbeatInterval(Duration heartbeatInterval) {
    this.heartbeatInterval = heartbeatInterval;
  }

  public Duration getRecoveryGrace() {
    return recoveryGrace;
  }

  public void setRecoveryGrace(Duration recoveryGrace) {
    this.recoveryGrace = recoveryGrace;
  }

  public CacheSettings getCacheDefaults() {
    return cacheDefaults;
  }

  public Map<String, CacheSettings> getCaches() {
    return caches;
  }

  public boolean isDynamicCaches() {
    return dynamicCaches;
  }

  public void setDynamicCaches(boolean dynamicCaches) {
    this.dynamicCaches = dynamicCaches;
  }

  public List<String> getTrustedPackages() {
    return trustedPackages;
  }

  public void setTrustedPackages(List<String> trustedPackages) {
    this.trustedPackages = trustedPackages;
  }

  public Inspector getInspector() {
    return inspector;
  }

  /** The Redis that holds L2. */
  public static class Redis {

    /**
     * Redis URI, with credentials and TLS ({@code rediss://user:password@host:6379/0}). When unset, the application's
     * {@code spring.data.redis.*} settings are used (url, or host, port, username, password, database, ssl.enabled).
     */
    private String uri;

    /**
     * The seed nodes of a Redis Cluster, each a Redis URI ({@code redis://10.0.0.1:7000}); the first one's credentials
     * and TLS are used for every node. Set this or {@code uri}, not both. When neither is set,
     * {@code spring.data.redis.cluster.nodes} ({@code host:port} each) is used, with Spring Data's username, password
     * and ssl.enabled.
     */
    private java.util.List<String> clusterNodes = new java.util.ArrayList<>();

    /**
     * Where to connect for an address Redis names, {@code host:port} to {@code host:port}, for cluster nodes that
     * announce addresses this application cannot reach as such (a container network, NAT, a proxy per node). Keys
     * keep their dots and colons only in brackets: {@code veracache.redis.address-mapping.[10.0.0.5:7000]=redis-a.example:17000}.
     */
    private java.util.Map<String, String> addressMapping = new java.util.LinkedHashMap<>();

    /**
     * Replicas that must acknowledge each invalidation, write-through set and invalidateAll ({@code WAIT}, half the
     * command timeout) before it counts as taken; one not acknowledged is retried, so that a failover to a replica
     * that never got it does not bring the old value back. 0: no wait.
     */
    private int invalidationReplicas;

    /** Names this client in Redis ({@code CLIENT SETNAME}) and tags its meters ({@code client=<name>}). */
    private String clientName = "veracache";

    /** How long one Redis command may take before the read degrades to the database. */
    private Duration commandTimeout = Duration.ofMillis(500);

    public String getUri() {
      return uri;
    }

    public void setUri(String uri) {
      this.uri = uri;
    }

    public java.util.List<String> getClusterNodes() {
      return clusterNodes;
    }

    public void setClusterNodes(java.util.List<String> clusterNodes) {
      this.clusterNodes = clusterNodes;
    }

    public java.util.Map<String, String> getAddressMapping() {
      return addressMapping;
    }

    public void setAddressMapping(java.util.Map<String, String> addressMapping) {
      this.addressMapping = addressMapping;
    }

    public int getInvalidationReplicas() {
      return invalidationReplicas;
    }

    public void setInvalidationReplicas(int invalidationReplicas) {
      this.invalidationReplicas = invalidationReplicas;
    }

    public String getClientName() {
      return clientName;
    }

    public void setClientName(String clientName) {
      this.clientName = clientName;
    }

    public Duration getCommandTimeout() {
      return commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
      this.commandTimeout = commandTimeout;
    }

    @Override
    public String toString() {
      return "Redis[uri=" + (uri == null ? null : uri.replaceAll("//[^@/]*@", "//***@")) + ", clusterNodes="
          + clusterNodes.stream().map(node -> node.replaceAll("//[^@/]*@", "//***@")).toList() + ", clientName="
          + clientName + ", commandTimeout=" + commandTimeout + ", addressMapping=" + addressMapping
          + ", invalidationReplicas=" + invalidationReplicas + "]";
    }
  }

  /** The circuit breaker in front of Redis (Resilience4j). */
  public static class Breaker {

    /** Failure rate, in percent of the calls in the window, that opens the breaker. */
    private float failureRatePercent = 50;

    /** Calls needed in the window before the failure rate is judged. */
    private int minimumCalls = 5;

    /** How many of the last calls the failure rate is computed over. */
    private int windowSize = 20;

    /** How long the breaker stays open (reads go to the database) before it tries Redis again. */
    private Duration openDuration = Duration.ofSeconds(1);

    public float getFailureRatePercent() {
      return failureRatePercent;
    }

    public void setFailureRatePercent(float failureRatePercent) {
      this.failureRatePercent = failureRatePercent;
    }

    public int getMinimumCalls() {
      return minimumCalls;
    }

    public void setMinimumCalls(int minimumCalls) {
      this.minimumCalls = minimumCalls;
    }

    public int getWindowSize() {
      return windowSize;
    }

    public void setWindowSize(int windowSize) {
      this.windowSize = windowSize;
    }

    public Duration getOpenDuration() {
      return openDuration;
    }

    public void setOpenDuration(Duration openDuration) {
      this.openDuration = openDuration;
    }
  }

  /** Bounds of every cache's L1 (Caffeine, in this JVM). */
  public static class L1 {

    /** The longest L1 lifetime any cache may ask for ({@code l1-ttl}). */
    private Duration maxTtl = Duration.ofMinutes(5);

    /** How old an L1 entry may be and still be served while invalidations may be missed (Redis unreachable). */
    private Duration degradedTtl = Duration.ofSeconds(1);

    public Duration getMaxTtl() {
      return maxTtl;
    }

    public void setMaxTtl(Duration maxTtl) {
      this.maxTtl = maxTtl;
    }

    public Duration getDegradedTtl() {
      return degradedTtl;
    }

    public void setDegradedTtl(Duration degradedTtl) {
      this.degradedTtl = degradedTtl;
    }
  }

  /** The consistency inspector: samples reads served from the cache and re-reads the database off the request thread. */
  public static class Inspector {

    /** Fraction of cache hits inspected, from 0 (off, no cost) to 1. */
    private double sampleRate = 0;

    /** How long a served value may differ from the database before the read counts as stale. */
    private Duration window = Duration.ofSeconds(2);

    public double getSampleRate() {
      return sampleRate;
    }

    public void setSampleRate(double sampleRate) {
      this.sampleRate = sampleRate;
    }

    public Duration getWindow() {
      return window;
    }

    public void setWindow(Duration window) {
      this.window = window;
    }
  }

  /** One cache's settings; every one unset falls back to {@code cache-defaults}, then to the library's default. */
  public static class CacheSettings {

    /** The Redis namespace (key prefix {@code <namespace>:}); the cache name when unset. CDC mappings name it. */
    private String namespace;

    /** A key shape's prefix inside the namespace, e.g. {@code sku:} (see the library's "A row cached under several keys"). */
    private String keyPrefix;

    /** Life of a value in Redis (default 10m). */
    private Duration ttl;

    /** Spread of the TTL, 0 to 1 (0.1 = plus or minus 10 %), so entries filled together expire apart. */
    private Double ttlJitter;

    /** Whether "not found" (a method returning null) is cached (default true). */
    private Boolean negativeCaching;

    /** Life of a cached "not found" (default 30s). */
    private Duration negativeTtl;

    /** Whether this cache has an L1 (default true). */
    private Boolean l1Enabled;

    /** Entries in this cache's L1 (default 10000). */
    private Long l1MaximumSize;

    /** Life of an L1 entry (default 1m, at most veracache.l1.max-ttl). */
    private Duration l1Ttl;

    /** How long a miss's fill lease lives (default 10s). */
    private Duration leaseTtl;

    /** How long a miss waits for another instance's fill before loading without filling (default 1s). */
    private Duration leaseWaitTimeout;

    /** How long an invalidation's tombstone (its version floor) lives (default 60s). */
    private Duration tombstoneTtl;

    /**
     * The cached values' row-version property (a record component or getter, integral): fills and sets older than an
     * invalidation are refused, and {@code @CachePut} becomes a versioned set. Unset: the cache is unversioned.
     */
    private String versionProperty;

    /**
     * The class of the cached values (JSON without a type name, readable by other languages); unset: the class is
     * written with each value and must be in a trusted package.
     */
    private Class<?> valueType;

    /** Renew a value read after it was this old, in the background, so hot keys do not miss at expiry; off when unset. */
    private Duration refreshAfterWrite;

    /**
     * Bound staleness by the CDC listener's published progress: while it is more than this behind, reads of the
     * namespace bypass Redis (see the library's README, R18); off when unset.
     */
    private Duration listenerStalenessBound;

    /** Largest encoded value cached, in bytes; larger ones are served uncached. */
    private Integer maxValueBytes;

    public String getNamespace() {
      return namespace;
    }

    public void setNamespace(String namespace) {
      this.namespace = namespace;
    }

    public String getKeyPrefix() {
      return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
      this.keyPrefix = keyPrefix;
    }

    public Duration getTtl() {
      return ttl;
    }

    public void setTtl(Duration ttl) {
      this.ttl = ttl;
    }

    public Double getTtlJitter() {
      return ttlJitter;
    }

    public void setTtlJitter(Double ttlJitter) {
      this.ttlJitter = ttlJitter;
    }

    public Boolean getNegativeCaching() {
      return negativeCaching;
    }

    public void setNegativeCaching(Boolean negativeCaching) {
      this.negativeCaching = negativeCaching;
    }

    public Duration getNegativeTtl() {
      return negativeTtl;
    }

    public void setNegativeTtl(Duration negativeTtl) {
      this.negativeTtl = negativeTtl;
    }

    public Boolean getL1Enabled() {
      return l1Enabled;
    }

    public void setL1Enabled(Boolean l1Enabled) {
      this.l1Enabled = l1Enabled;
    }

    public Long getL1MaximumSize() {
      return l1MaximumSize;
    }

    public void setL1MaximumSize(Long l1MaximumSize) {
      this.l1MaximumSize = l1MaximumSize;
    }

    public Duration getL1Ttl() {
      return l1Ttl;
    }

    public void setL1Ttl(Duration l1Ttl) {
      this.l1Ttl = l1Ttl;
    }

    public Duration getLeaseTtl() {
      return leaseTtl;
    }

    public void setLeaseTtl(Duration leaseTtl) {
      this.leaseTtl = leaseTtl;
    }

    public Duration getLeaseWaitTimeout() {
      return leaseWaitTimeout;
    }

    public void setLeaseWaitTimeout(Duration leaseWaitTimeout) {
      this.leaseWaitTimeout = leaseWaitTimeout;
    }

    public Duration getTombstoneTtl() {
      return tombstoneTtl;
    }

    public void setTombstoneTtl(Duration tombstoneTtl) {
      this.tombstoneTtl = tombstoneTtl;
    }

    public String getVersionProperty() {
      return versionProperty;
    }

    public void setVersionProperty(String versionProperty) {
      this.versionProperty = versionProperty;
    }

    public Class<?> getValueType() {
      return valueType;
    }

    public void setValueType(Class<?> valueType) {
      this.valueType = valueType;
    }

    public Duration getRefreshAfterWrite() {
      return refreshAfterWrite;
    }

    public void setRefreshAfterWrite(Duration refreshAfterWrite) {
      this.refreshAfterWrite = refreshAfterWrite;
    }

    public Duration getListenerStalenessBound() {
      return listenerStalenessBound;
    }

    public void setListenerStalenessBound(Duration listenerStalenessBound) {
      this.listenerStalenessBound = listenerStalenessBound;
    }

    public Integer getMaxValueBytes() {
      return maxValueBytes;
    }

    public void setMaxValueBytes(Integer maxValueBytes) {
      this.maxValueBytes = maxValueBytes;
    }
  }
}
