package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;
import static dev.veracache.Preconditions.positive;

import com.github.benmanes.caffeine.cache.Ticker;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Settings shared by every cache of one {@link Veracache} client: the Redis connection, the circuit breaker, and how L1
 * behaves while invalidations cannot arrive. Build with {@link #builder(String)}; every setting has a default, one of
 * the {@code DEFAULT_*} constants below; {@link #toBuilder()} derives options that differ in a few settings.
 *
 * <p>Credentials and TLS come with the Redis URI ({@code rediss://user:password@host:port}); Veracache never logs the
 * URI's password.
 *
 * <p>A Redis Cluster is given by its seed URIs ({@link #clusterBuilder(List)}): a few nodes of the cluster, from which
 * Lettuce's cluster client learns the rest of the topology. The first seed's credentials and TLS settings are used for
 * every node.
 */
public final class VeracacheOptions {

  /** The Redis client name and the {@code client} metric tag: {@value}. */
  public static final String DEFAULT_CLIENT_NAME = "veracache";
  /** How long one Redis command may take: 500 ms. */
  public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(500);
  /** The upper bound of every cache's L1 TTL: 5 minutes. */
  public static final Duration DEFAULT_MAX_L1_TTL = Duration.ofMinutes(5);
  /** The age past which L1 entries are not served while invalidations cannot arrive: 1 second. */
  public static final Duration DEFAULT_DEGRADED_L1_TTL = Duration.ofSeconds(1);
  /** The circuit breaker around Redis: {@link BreakerSettings#defaults()}. */
  public static final BreakerSettings DEFAULT_CIRCUIT_BREAKER = BreakerSettings.defaults();
  /** Between attempts to switch client tracking on after a reconnect: 50 ms. */
  public static final Duration DEFAULT_TRACKING_RETRY_INTERVAL = Duration.ofMillis(50);
  /** Between heartbeat writes: 250 ms. */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofMillis(250);
  /** How long Redis must take writes again, after a failed heartbeat, before reads trust it: 1.5 seconds. */
  public static final Duration DEFAULT_RECOVERY_GRACE = Duration.ofMillis(1500);
  /** Between retries of the invalidations Redis refused: 200 ms. */
  public static final Duration DEFAULT_INVALIDATION_RETRY_INTERVAL = Duration.ofMillis(200);
  /** How many refused invalidations are kept for retry. */
  public static final int DEFAULT_MAX_PENDING_INVALIDATIONS = 100_000;

  final RedisURI redisUri;
  /** The seed nodes of a Redis Cluster; empty for one Redis ({@link #redisUri}). */
  final List<RedisURI> clusterSeeds;
  final Map<String, String> addressMapping;
  final String clientName;
  final Duration commandTimeout;
  final Duration maxL1Ttl;
  final Duration degradedL1Ttl;
  final BreakerSettings circuitBreaker;
  // The breaker's settings, as RedisLink reads them.
  final float breakerFailureRatePercent;
  final int breakerMinimumCalls;
  final int breakerWindowSize;
  final Duration breakerOpenDuration;
  final Duration trackingRetryInterval;
  final Duration heartbeatInterval;
  final Duration recoveryGrace;
  final Duration invalidationRetryInterval;
  final int maxPendingInvalidations;
  final int invalidationReplicas;
  final MeterRegistry meterRegistry;
  final Ticker ticker;
  final InspectorOptions inspector;

  private VeracacheOptions(Builder b) {
    this.redisUri = b.redisUri;
    this.clusterSeeds = b.clusterSeeds;
    this.addressMapping = b.addressMapping;
    this.clientName = b.clientName;
    this.commandTimeout = b.commandTimeout;
    this.maxL1Ttl = b.maxL1Ttl;
    this.degradedL1Ttl = b.degradedL1Ttl;
    this.circuitBreaker = b.circuitBreaker;
    this.breakerFailureRatePercent = b.circuitBreaker.failureRatePercent();
    this.breakerMinimumCalls = b.circuitBreaker.minimumCalls();
    this.breakerWindowSize = b.circuitBreaker.windowSize();
    this.breakerOpenDuration = b.circuitBreaker.openDuration();
    this.trackingRetryInterval = b.trackingRetryInterval;
    this.heartbeatInterval = b.heartbeatInterval;
    this.recoveryGrace = b.recoveryGrace;
    this.invalidationRetryInterval = b.invalidationRetryInterval;
    this.maxPendingInvalidations = b.maxPendingInvalidations;
    this.invalidationReplicas = b.invalidationReplicas;
    this.meterRegistry = b.meterRegistry;
    this.ticker = b.ticker;
    this.inspector = b.inspector;
  }

  /**
   * The Redis endpoint, with its credentials and TLS settings (do not log it); on a cluster, the first seed node.
   */
  public RedisURI redisUri() {
    return redisUri;
  }

  /** The seed nodes of the Redis Cluster ({@link #clusterBuilder(List)}); empty for one Redis. */
  public List<RedisURI> clusterSeeds() {
    return clusterSeeds;
  }

  /**
   * Where this client connects for an address Redis names ({@code "host:port"} to {@code "host:port"}); empty: every
   * address as named. See {@link Builder#addressMapping}.
   */
  public Map<String, String> addressMapping() {
    return addressMapping;
  }

  /** Whether these options name a Redis Cluster ({@link #clusterBuilder(List)}). */
  public boolean isCluster() {
    return !clusterSeeds.isEmpty();
  }

  /** The Redis client name, also the {@code client} tag of every meter. */
  public String clientName() {
    return clientName;
  }

  /** How long one Redis command may take. */
  public Duration commandTimeout() {
    return commandTimeout;
  }

  /** The circuit breaker's settings. */
  public BreakerSettings circuitBreaker() {
    return circuitBreaker;
  }

  /** Where the meters go. */
  public MeterRegistry meterRegistry() {
    return meterRegistry;
  }

  /** The consistency inspector's settings. */
  public InspectorOptions inspector() {
    return inspector;
  }

  /**
   * A builder holding every setting of these options, to derive options that differ in a few (another client name
   * for a second client in the same registry, say). The Redis URI stays the same.
   */
  public Builder toBuilder() {
    Builder b = new Builder(redisUri, clusterSeeds);
    b.clientName = clientName;
    b.commandTimeout = commandTimeout;
    b.maxL1Ttl = maxL1Ttl;
    b.degradedL1Ttl = degradedL1Ttl;
    b.circuitBreaker = circuitBreaker;
    b.trackingRetryInterval = trackingRetryInterval;
    b.heartbeatInterval = heartbeatInterval;
    b.recoveryGrace = recoveryGrace;
    b.invalidationRetryInterval = invalidationRetryInterval;
    b.maxPendingInvalidations = maxPendingInvalidations;
    b.invalidationReplicas = invalidationReplicas;
    b.addressMapping = addressMapping;
    b.meterRegistry = meterRegistry;
    b.ticker = ticker;
    b.inspector = inspector;
    return b;
  }

  /** @param redisUri for example {@code redis://localhost:6379} or {@code rediss://:secret@host:6380/0} */
  public static Builder builder(String redisUri) {
    notNull(redisUri, "redisUri");
    try {
      return new Builder(RedisURI.create(redisUri), List.of());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("redisUri is not a valid Redis URI: " + e.getMessage(), e);
    }
  }

  public static Builder builder(RedisURI redisUri) {
    return new Builder(notNull(redisUri, "redisUri"), List.of());
  }

  /**
   * Options for a Redis Cluster, through Lettuce's cluster client.
   *
   * @param seedUris some nodes of the cluster (one is enough; more survive one being down), for example
   *     {@code redis://10.0.0.1:7000}; the first one's credentials and TLS settings are used for every node, and none
   *     may select a database (a cluster has only database 0)
   */
  public static Builder clusterBuilder(List<String> seedUris) {
    notNull(seedUris, "seedUris");
    check(!seedUris.isEmpty(), "seedUris must name at least one node of the cluster");
    List<RedisURI> seeds = new ArrayList<>(seedUris.size());
    for (int i = 0; i < seedUris.size(); i++) {
      String seed = seedUris.get(i);
      check(seed != null, "seedUris[" + i + "] must not be null");
      try {
        seeds.add(RedisURI.create(seed));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("seedUris[" + i + "] is not a valid Redis URI: " + e.getMessage(), e);
      }
    }
    return clusterOf(seeds);
  }

  /** As {@link #clusterBuilder(List)}, from built URIs (credentials set on them, say). */
  public static Builder clusterBuilder(RedisURI firstSeed, RedisURI... moreSeeds) {
    List<RedisURI> seeds = new ArrayList<>();
    seeds.add(notNull(firstSeed, "firstSeed"));
    for (RedisURI seed : notNull(moreSeeds, "moreSeeds")) {
      seeds.add(notNull(seed, "moreSeeds[" + (seeds.size() - 1) + "]"));
    }
    return clusterOf(seeds);
  }

  private static Builder clusterOf(List<RedisURI> seeds) {
    for (int i = 0; i < seeds.size(); i++) {
      RedisURI uri = seeds.get(i);
      check(uri.getDatabase() == 0, "seedUris[" + i + "] (" + uri.getHost() + ":" + uri.getPort() + ") selects "
          + "database " + uri.getDatabase() + ": a Redis Cluster has only database 0");
      check(uri.getSentinels().isEmpty(), "seedUris[" + i + "] names Sentinels: a Redis Cluster is given by its "
          + "nodes");
    }
    return new Builder(seeds.get(0), List.copyOf(seeds));
  }

  public static final class Builder {
    private final RedisURI redisUri;
    private final List<RedisURI> clusterSeeds;
    private String clientName = DEFAULT_CLIENT_NAME;
    private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
    private Duration maxL1Ttl = DEFAULT_MAX_L1_TTL;
    private Duration degradedL1Ttl = DEFAULT_DEGRADED_L1_TTL;
    private BreakerSettings circuitBreaker = DEFAULT_CIRCUIT_BREAKER;
    private Duration trackingRetryInterval = DEFAULT_TRACKING_RETRY_INTERVAL;
    private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    private Duration recoveryGrace = DEFAULT_RECOVERY_GRACE;
    private Duration invalidationRetryInterval = DEFAULT_INVALIDATION_RETRY_INTERVAL;
    private int maxPendingInvalidations = DEFAULT_MAX_PENDING_INVALIDATIONS;
    private int invalidationReplicas;
    private Map<String, String> addressMapping = Map.of();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private Ticker ticker = Ticker.systemTicker();
    private InspectorOptions inspector = InspectorOptions.disabled();

    private Builder(RedisURI redisUri, List<RedisURI> clusterSeeds) {
      this.redisUri = redisUri;
      this.clusterSeeds = clusterSeeds;
    }

    /**
     * The Redis CLIENT SETNAME of the connection, to find it in {@code CLIENT LIST}, and the {@code client} tag of
     * every metric. Give each client in one JVM (and one meter registry) its own name. Default
     * {@value VeracacheOptions#DEFAULT_CLIENT_NAME}.
     */
    public Builder clientName(String clientName) {
      this.clientName = notNull(clientName, "clientName");
      return this;
    }

    /** How long one Redis command may take before it counts as failed. Default {@link #DEFAULT_COMMAND_TIMEOUT}. */
    public Builder commandTimeout(Duration commandTimeout) {
      this.commandTimeout = positive(commandTimeout, "commandTimeout");
      return this;
    }

    /** The hard upper bound of every cache's L1 TTL: no L1 entry outlives it. Default {@link #DEFAULT_MAX_L1_TTL}. */
    public Builder maxL1Ttl(Duration maxL1Ttl) {
      this.maxL1Ttl = positive(maxL1Ttl, "maxL1Ttl");
      return this;
    }

    /**
     * While invalidations cannot arrive (Redis unreachable, circuit open, tracking being re-established) an L1 entry
     * older than this is not served. Default {@link #DEFAULT_DEGRADED_L1_TTL}. It bounds staleness during a Redis
     * outage.
     */
    public Builder degradedL1Ttl(Duration degradedL1Ttl) {
      this.degradedL1Ttl = positive(degradedL1Ttl, "degradedL1Ttl");
      return this;
    }

    /**
     * The circuit breaker around Redis (Resilience4j), named settings: it opens when
     * {@link BreakerSettings#failureRatePercent()} of the last {@link BreakerSettings#windowSize()} calls (at least
     * {@link BreakerSettings#minimumCalls()}) failed or timed out, stays open for
     * {@link BreakerSettings#openDuration()}, then lets a trial call through. While open, reads go to the loader.
     * Default {@link #DEFAULT_CIRCUIT_BREAKER}: {@link BreakerSettings#defaults()}.
     */
    public Builder circuitBreaker(BreakerSettings settings) {
      this.circuitBreaker = notNull(settings, "circuitBreaker");
      return this;
    }

    /**
     * How often to retry switching Redis client tracking on after a reconnect. Default
     * {@link #DEFAULT_TRACKING_RETRY_INTERVAL}.
     */
    public Builder trackingRetryInterval(Duration interval) {
      this.trackingRetryInterval = positive(interval, "trackingRetryInterval");
      return this;
    }

    /**
     * How often a heartbeat write ({@code SET veracache:heartbeat:<clientName>}) probes Redis. A Redis that is paused
     * or cut off behind a live connection sends neither pushes nor a disconnect, and one that refuses writes
     * (read-only replica, OOM) takes nobody's invalidations: while the heartbeat fails, reads bypass Redis and L1
     * serves only entries younger than degradedL1Ttl. The staleness a reader can see in those cases is bounded by
     * about heartbeatInterval + commandTimeout + degradedL1Ttl. Default {@link #DEFAULT_HEARTBEAT_INTERVAL}.
     */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = positive(interval, "heartbeatInterval");
      return this;
    }

    /**
     * After the heartbeat failed, how long Redis must take writes again before reads trust it: the invalidations it
     * refused meanwhile (this client's, retried at once, and the CDC listener's, retried with its backoff) land in
     * this time. Keep it above the CDC listener's maximum retry backoff (1 s by default). Default
     * {@link #DEFAULT_RECOVERY_GRACE}.
     */
    public Builder recoveryGrace(Duration grace) {
      this.recoveryGrace = positive(grace, "recoveryGrace");
      return this;
    }

    /** How often invalidations that Redis refused are retried. Default {@link #DEFAULT_INVALIDATION_RETRY_INTERVAL}. */
    public Builder invalidationRetryInterval(Duration interval) {
      this.invalidationRetryInterval = positive(interval, "invalidationRetryInterval");
      return this;
    }

    /**
     * How many refused invalidations are kept for retry (one per key, newest version). Past it the oldest is dropped
     * with a log line and the {@code veracache.invalidations{result=dropped}} counter. Default
     * {@value VeracacheOptions#DEFAULT_MAX_PENDING_INVALIDATIONS}.
     */
    public Builder maxPendingInvalidations(int max) {
      this.maxPendingInvalidations = (int) positive(max, "maxPendingInvalidations");
      return this;
    }

    /**
     * How many replicas must acknowledge each write of this client that removes or replaces a cached value before it
     * counts as taken ({@code WAIT}): an invalidation, a write-through set, {@code invalidateAll} (on every
     * master), and the fences a write-behind flusher leaves after a flush or a dead letter. The WAIT runs on the connection that carried the write: on a cluster the key's master's, or, during a
     * slot migration, the node an {@code ASK} sent it to. One not acknowledged within half the command timeout is
     * queued and retried like one Redis refused ({@code veracache.redis.errors{reason=not_durable}}); a set becomes an
     * invalidation at its version. Redis replicates asynchronously: a master that dies before its replica got such a
     * write hands its keys to a replica that still holds the old value, and nothing else would invalidate it again.
     * With this set, the retry lands on the promoted replica. Costs a replication round trip per write; while a
     * master has fewer replicas than this, its keys' writes stay queued (and their reads bypass Redis), and so does
     * {@code invalidateAll}. Default 0 (no wait).
     */
    public Builder invalidationReplicas(int replicas) {
      check(replicas >= 0, "invalidationReplicas must be >= 0, was " + replicas);
      this.invalidationReplicas = replicas;
      return this;
    }

    /**
     * Where to connect for an address Redis names, {@code "host:port"} to {@code "host:port"}: for a Redis Cluster
     * whose nodes announce addresses this client cannot reach as such (a container network, NAT, a proxy in front of
     * each node). It applies to every connection: the seeds or the one Redis, and each node the cluster's topology
     * names, so the topology keeps the announced addresses while the sockets go where the map says. An address
     * absent from the map is used as named. Default: none.
     *
     * @throws IllegalArgumentException naming the entry when a key or value is not {@code host:port} with a port in
     *     1..65535
     */
    public Builder addressMapping(Map<String, String> mapping) {
      notNull(mapping, "addressMapping");
      Map<String, String> copy = new java.util.LinkedHashMap<>();
      mapping.forEach((from, to) -> {
        check(from != null && to != null, "addressMapping: an entry is null (" + from + " -> " + to + ")");
        copy.put(hostAndPort(from, "addressMapping key"), hostAndPort(to, "addressMapping value of " + from));
      });
      this.addressMapping = java.util.Collections.unmodifiableMap(copy);
      return this;
    }

    /**
     * {@code address} as {@code host:port}, checked, with an IPv6 host bracketed ({@code ::1:6379} and
     * {@code [::1]:6379} both give {@code [::1]:6379}, the form Lettuce parses as host and port).
     */
    private static String hostAndPort(String address, String what) {
      String trimmed = address.trim();
      int colon = trimmed.lastIndexOf(':');
      String host = colon > 0 ? trimmed.substring(0, colon) : "";
      int port = -1;
      if (colon > 0) {
        try {
          port = Integer.parseInt(trimmed.substring(colon + 1));
        } catch (NumberFormatException e) {
          port = -1;
        }
      }
      // An unbracketed IPv6 address without a port ("fd00::1") would read as host "fd00:" and port 1: refused.
      check(!host.isEmpty() && !host.endsWith(":") && port >= 1 && port <= 65535,
          what + " must be host:port with a port in 1..65535 (an IPv6 host best bracketed: [::1]:6379), was '"
              + address + "'");
      boolean unbracketedIpv6 = host.indexOf(':') >= 0 && !(host.startsWith("[") && host.endsWith("]"));
      return unbracketedIpv6 ? "[" + host + "]:" + port : host + ":" + port;
    }

    /** Where metrics go. Default: Micrometer's global registry. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = notNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * The clock of L1 ages (l1Ttl, degradedL1Ttl) and of the heartbeat's recovery grace. Default: the system clock
     * ({@code System.nanoTime}); tests pass a ticker they advance, instead of sleeping.
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = notNull(ticker, "ticker");
      return this;
    }

    /**
     * The consistency inspector ({@link ConsistencyInspector}): samples a share of cache hits, re-reads the database
     * off the request thread and counts the reads still stale after a window. Default
     * {@link InspectorOptions#disabled()}: off, nothing on the read path.
     */
    public Builder inspector(InspectorOptions inspector) {
      this.inspector = notNull(inspector, "inspector");
      return this;
    }

    public VeracacheOptions build() {
      check(degradedL1Ttl.compareTo(maxL1Ttl) <= 0,
          "degradedL1Ttl (" + degradedL1Ttl + ") must not exceed maxL1Ttl (" + maxL1Ttl + ")");
      return new VeracacheOptions(this);
    }
  }
}
