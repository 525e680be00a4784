package dev.veracache.baseline;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.RedisCodec;
import java.time.Duration;
import java.util.Objects;

/**
 * How the baselines connect: their commands keep the URI's short timeout (the chaos baselines run with 300 ms, like a
 * service that fails fast), but the connection's handshake may take up to {@link #HANDSHAKE_TIMEOUT}. Lettuce times
 * the handshake with the URI's timeout, so a cold JVM on a loaded machine failed to connect at all ("Connection
 * initialization timed out after 300 millisecond(s)") and a baseline's run ended before it began.
 */
public final class BaselineConnections {

  /** The longest a baseline's connection handshake may take. */
  public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  private BaselineConnections() {}

  /** Connects {@code client} to {@code redisUri}; the connection's commands time out as the URI says. */
  public static <K, V> StatefulRedisConnection<K, V> connect(RedisClient client, RedisCodec<K, V> codec,
      String redisUri) {
    Objects.requireNonNull(redisUri, "redisUri must not be null");
    Duration commandTimeout = RedisURI.create(redisUri).getTimeout();
    RedisURI handshake = RedisURI.create(redisUri);
    if (commandTimeout.compareTo(HANDSHAKE_TIMEOUT) < 0) {
      handshake.setTimeout(HANDSHAKE_TIMEOUT);
    }
    StatefulRedisConnection<K, V> connection = client.connect(codec, handshake);
    connection.setTimeout(commandTimeout);
    return connection;
  }
}
