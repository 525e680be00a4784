package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;
import static dev.veracache.Preconditions.positive;

import com.github.benmanes.caffeine.cache.Ticker;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Duration;

/**
 * Settings shared by every cache of one {@link Veracache} client: the Redis connection, the circuit breaker, and how L1
 * behaves while invalidations cannot arrive. Build with {@link #builder(String)}; every setting has a default.
 *
 * <p>Credentials and TLS come with the Redis URI ({@code rediss://user:password@host:port}); Veracache never logs the
 * URI's password.
 */
public final class VeracacheOptions {

  static { // lets the internal Redis layer read these fields without making them API
    dev.veracache.internal.RedisSettings.installReader(RedisSettingsReader::read);
  }

  final RedisURI redisUri;
  final String clientName;
  final Duration commandTimeout;
  final Duration maxL1Ttl;
  final Duration degradedL1Ttl;
  final float breakerFailureRatePercent;
  final int breakerMinimumCalls;
  final int breakerWindowSize;
  final Duration breakerOpenDuration;
  final Duration trackingRetryInterval;
  final Duration heartbeatInterval;
  final Duration recoveryGrace;
  final Duration invalidationRetryInterval;
  final int maxPendingInvalidations;
  final MeterRegistry meterRegistry;
  final Ticker ticker;

  private VeracacheOptions(Builder b) {
    this.redisUri = b.redisUri;
    this.clientName = b.clientName;
    this.commandTimeout = b.commandTimeout;
    this.maxL1Ttl = b.maxL1Ttl;
    this.degradedL1Ttl = b.degradedL1Ttl;
    this.breakerFailureRatePercent = b.breakerFailureRatePercent;
    this.breakerMinimumCalls = b.breakerMinimumCalls;
    this.breakerWindowSize = b.breakerWindowSize;
    this.breakerOpenDuration = b.breakerOpenDuration;
    this.trackingRetryInterval = b.trackingRetryInterval;
    this.heartbeatInterval = b.heartbeatInterval;
    this.recoveryGrace = b.recoveryGrace;
    this.invalidationRetryInterval = b.invalidationRetryInterval;
    this.maxPendingInvalidations = b.maxPendingInvalidations;
    this.meterRegistry = b.meterRegistry;
    this.ticker = b.ticker;
  }

  /** The Redis endpoint, with its credentials and TLS settings (do not log it). */
  public RedisURI redisUri() {
    return redisUri;
  }

  /** @param redisUri for example {@code redis://localhost:6379} or {@code rediss://:secret@host:6380/0} */
  public static Builder builder(String redisUri) {
    notNull(redisUri, "redisUri");
    try {
      return new Builder(RedisURI.create(redisUri));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("redisUri is not a valid Redis URI: " + e.getMessage(), e);
    }
  }

  public static Builder builder(RedisURI redisUri) {
    return new Builder(notNull(redisUri, "redisUri"));
  }

  public static final class Builder {
    private final RedisURI redisUri;
    private String clientName = "veracache";
    private Duration commandTimeout = Duration.ofMillis(500);
    private Duration maxL1Ttl = Duration.ofMinutes(5);
    private Duration degradedL1Ttl = Duration.ofSeconds(1);
    private float breakerFailureRatePercent = 50;
    private int breakerMinimumCalls = 5;
    private int breakerWindowSize = 20;
    private Duration breakerOpenDuration = Duration.ofSeconds(1);
    private Duration trackingRetryInterval = Duration.ofMillis(50);
    private Duration heartbeatInterval = Duration.ofMillis(250);
    private Duration recoveryGrace = Duration.ofMillis(1500);
    private Duration invalidationRetryInterval = Duration.ofMillis(200);
    private int maxPendingInvalidations = 100_000;
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private Ticker ticker = Ticker.systemTicker();

    private Builder(RedisURI redisUri) {
      this.redisUri = redisUri;
    }

    /**
     * The Redis CLIENT SETNAME of the connection, to find it in {@code CLIENT LIST}, and the {@code client} tag of
     * every metric. Give each client in one JVM (and one meter registry) its own name. Default {@code veracache}.
     */
    public Builder clientName(String clientName) {
      this.clientName = notNull(clientName, "clientName");
      return this;
    }

    /** How long one Redis command may take before it counts as failed. Default 500 ms. */
    public Builder commandTimeout(Duration commandTimeout) {
      this.commandTimeout = positive(commandTimeout, "commandTimeout");
      return this;
    }

    /** The hard upper bound of every cache's L1 TTL: no L1 entry outlives it. Default 5 minutes. */
    public Builder maxL1Ttl(Duration maxL1Ttl) {
      this.maxL1Ttl = positive(maxL1Ttl, "maxL1Ttl");
      return this;
    }

    /**
     * While invalidations cannot arrive (Redis unreachable, circuit open, tracking being re-established) an L1 entry
     * older than this is not served. Default 1 second. It bounds staleness during a Redis outage.
     */
    public Builder degradedL1Ttl(Duration degradedL1Ttl) {
      this.degradedL1Ttl = positive(degradedL1Ttl, "degradedL1Ttl");
      return this;
    }

    /**
     * The circuit breaker around Redis (Resilience4j): it opens when {@code failureRatePercent} of the last
     * {@code windowSize} calls (at least {@code minimumCalls}) failed or timed out, stays open for {@code openDuration},
     * then lets trial calls through. While open, reads go to the loader.
     */
    public Builder circuitBreaker(float failureRatePercent, int minimumCalls, int windowSize, Duration openDuration) {
      check(failureRatePercent > 0 && failureRatePercent <= 100,
          "circuitBreaker failureRatePercent must be in (0, 100], was " + failureRatePercent);
      positive(minimumCalls, "circuitBreaker minimumCalls");
      positive(windowSize, "circuitBreaker windowSize");
      this.breakerFailureRatePercent = failureRatePercent;
      this.breakerMinimumCalls = minimumCalls;
      this.breakerWindowSize = windowSize;
      this.breakerOpenDuration = positive(openDuration, "circuitBreaker openDuration");
      return this;
    }

    /** How often to retry switching Redis client tracking on after a reconnect. Default 50 ms. */
    public Builder trackingRetryInterval(Duration interval) {
      this.trackingRetryInterval = positive(interval, "trackingRetryInterval");
      return this;
    }

    /**
     * How often a heartbeat write ({@code SET veracache:heartbeat:<clientName>}) probes Redis. A Redis that is paused
     * or cut off behind a live connection sends neither pushes nor a disconnect, and one that refuses writes
     * (read-only replica, OOM) takes nobody's invalidations: while the heartbeat fails, reads bypass Redis and L1
     * serves only entries younger than degradedL1Ttl. The staleness a reader can see in those cases is bounded by
     * about heartbeatInterval + commandTimeout + degradedL1Ttl. Default 250 ms.
     */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = positive(interval, "heartbeatInterval");
      return this;
    }

    /**
     * After the heartbeat failed, how long Redis must take writes again before reads trust it: the invalidations it
     * refused meanwhile (this client's, retried at once, and the CDC listener's, retried with its backoff) land in
     * this time. Keep it above the CDC listener's maximum retry backoff (1 s by default). Default 1.5 s.
     */
    public Builder recoveryGrace(Duration grace) {
      this.recoveryGrace = positive(grace, "recoveryGrace");
      return this;
    }

    /** How often invalidations that Redis refused are retried. Default 200 ms. */
    public Builder invalidationRetryInterval(Duration interval) {
      this.invalidationRetryInterval = positive(interval, "invalidationRetryInterval");
      return this;
    }

    /**
     * How many refused invalidations are kept for retry (one per key, newest version). Past it the oldest is dropped
     * with a log line and the {@code veracache.invalidations{result=dropped}} counter. Default 100,000.
     */
    public Builder maxPendingInvalidations(int max) {
      this.maxPendingInvalidations = (int) positive(max, "maxPendingInvalidations");
      return this;
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

    public VeracacheOptions build() {
      check(degradedL1Ttl.compareTo(maxL1Ttl) <= 0,
          "degradedL1Ttl (" + degradedL1Ttl + ") must not exceed maxL1Ttl (" + maxL1Ttl + ")");
      return new VeracacheOptions(this);
    }
  }
}
