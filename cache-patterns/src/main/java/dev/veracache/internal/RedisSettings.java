package dev.veracache.internal;

import dev.veracache.BreakerSettings;
import dev.veracache.VeracacheOptions;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of a {@link VeracacheOptions} that the Redis layer reads: the connection, the command timeout, the
 * circuit breaker and where metrics go. {@code clusterSeeds} is empty for one Redis ({@code redisUri}); for a Redis
 * Cluster it holds the seed nodes, and {@code redisUri} is the first of them. {@code addressMapping} says where to
 * connect for an address Redis names ({@code "host:port"} to {@code "host:port"}).
 *
 * <p>Internal: not part of the API; may change in any release.
 */
public record RedisSettings(RedisURI redisUri, List<RedisURI> clusterSeeds, Map<String, String> addressMapping,
    String clientName, Duration commandTimeout,
    float breakerFailureRatePercent, int breakerMinimumCalls, int breakerWindowSize, Duration breakerOpenDuration,
    MeterRegistry meterRegistry) {

  /** Never shows the URI's credentials: host and port only. */
  @Override
  public String toString() {
    return "RedisSettings[" + (clusterSeeds.isEmpty() ? "endpoint=" : "cluster seed=") + redisUri.getHost() + ":"
        + redisUri.getPort() + ", clientName=" + clientName
        + ", commandTimeout=" + commandTimeout + "]";
  }

  /** The Redis settings of {@code options}. */
  public static RedisSettings of(VeracacheOptions options) {
    Objects.requireNonNull(options, "options must not be null");
    BreakerSettings breaker = options.circuitBreaker();
    return new RedisSettings(options.redisUri(), options.clusterSeeds(), options.addressMapping(), options.clientName(),
        options.commandTimeout(),
        breaker.failureRatePercent(), breaker.minimumCalls(), breaker.windowSize(), breaker.openDuration(),
        options.meterRegistry());
  }
}
