package dev.veracache.chaos.check;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Reads keys of the run's Redis for the checks (quiescence, the listener's catch-up), whether that is the single Redis
 * or the embedded Redis Cluster. A run names its Redis by an address: a Redis URI, or {@link #clusterAddress} of the
 * cluster's seeds.
 */
public final class RedisReader implements AutoCloseable {

  private static final String CLUSTER = "cluster:";

  private final AutoCloseable client;
  private final AutoCloseable connection;
  private final java.util.function.Function<String, String> get;

  private RedisReader(AutoCloseable client, AutoCloseable connection,
      java.util.function.Function<String, String> get) {
    this.client = client;
    this.connection = connection;
    this.get = get;
  }

  /** The address of a cluster, from its seed URIs (for {@link #open}). */
  public static String clusterAddress(List<String> seedUris) {
    return CLUSTER + String.join(",", seedUris);
  }

  /** Whether {@code address} names a cluster. */
  public static boolean isCluster(String address) {
    return address.startsWith(CLUSTER);
  }

  /** The seed URIs of a cluster's address. */
  public static List<String> seeds(String address) {
    return Arrays.asList(address.substring(CLUSTER.length()).split(","));
  }

  /** Connects to the Redis (or cluster) at {@code address}; every command has {@code timeout}. */
  public static RedisReader open(String address, Duration timeout) {
    if (isCluster(address)) {
      RedisClusterClient client = RedisClusterClient.create(seeds(address).stream().map(seed -> {
        RedisURI uri = RedisURI.create(seed);
        uri.setTimeout(timeout);
        return uri;
      }).toList());
      try {
        StatefulRedisClusterConnection<String, String> connection = client.connect();
        return new RedisReader(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)), connection,
            connection.sync()::get);
      } catch (RuntimeException e) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        throw e;
      }
    }
    RedisURI uri = RedisURI.create(address);
    uri.setTimeout(timeout);
    RedisClient client = RedisClient.create(uri);
    try {
      StatefulRedisConnection<String, String> connection = client.connect();
      return new RedisReader(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)), connection,
          connection.sync()::get);
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      throw e;
    }
  }

  /** GET, or null. */
  public String get(String key) {
    return get.apply(key);
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (Exception e) {
      // closing a connection that failed: nothing left to do
    } finally {
      try {
        client.close();
      } catch (Exception e) {
        // the client's threads stop in the background
      }
    }
  }
}
