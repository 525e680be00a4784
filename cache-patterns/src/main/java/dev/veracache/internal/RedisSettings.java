package dev.veracache.internal;

import dev.veracache.VeracacheOptions;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

/**
 * The settings of a {@link VeracacheOptions} that the Redis layer reads: the connection, the command timeout, the
 * circuit breaker and where metrics go.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>The fields of {@code VeracacheOptions} are not API (they are package-private in {@code dev.veracache}), yet this
 * package needs them, also when the CDC listener opens a {@link RedisInvalidator} from its options. So
 * {@code VeracacheOptions} installs the one reader of its fields here when its class is initialised (the JDK's
 * "shared secrets" idiom): no options object exists before that, so {@link #of} always finds the reader.
 */
public record RedisSettings(RedisURI redisUri, String clientName, Duration commandTimeout,
    float breakerFailureRatePercent, int breakerMinimumCalls, int breakerWindowSize, Duration breakerOpenDuration,
    MeterRegistry meterRegistry) {

  private static volatile Function<VeracacheOptions, RedisSettings> reader;

  /** Called once, by {@code VeracacheOptions}'s static initialiser; any other caller, or a second call, is refused. */
  public static synchronized void installReader(Function<VeracacheOptions, RedisSettings> optionsReader) {
    Class<?> caller = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
    if (caller != VeracacheOptions.class) {
      throw new IllegalStateException("only VeracacheOptions installs its reader, not " + caller.getName());
    }
    if (reader != null) {
      throw new IllegalStateException("the reader of VeracacheOptions is already installed");
    }
    reader = Objects.requireNonNull(optionsReader, "optionsReader");
  }

  /** Never shows the URI's credentials: host and port only. */
  @Override
  public String toString() {
    return "RedisSettings[endpoint=" + redisUri.getHost() + ":" + redisUri.getPort() + ", clientName=" + clientName
        + ", commandTimeout=" + commandTimeout + "]";
  }

  /** The Redis settings of {@code options}. */
  public static RedisSettings of(VeracacheOptions options) {
    Objects.requireNonNull(options, "options must not be null");
    return reader.apply(options); // installed: options' class is initialised
  }
}
