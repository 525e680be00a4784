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
  private static final char MAPPING = '|';

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

  /**
   * The address of a cluster whose nodes a client reaches at other addresses ({@code "host:port"} as the cluster
   * names it, to where to connect): {@code cluster:<seeds>|<from>=<to>,...}.
   */
  public static String clusterAddress(List<String> seedUris, java.util.Map<String, String> addressMapping) {
    StringBuilder mapped = new StringBuilder();
    addressMapping.forEach((from, to) -> mapped.append(mapped.length() == 0 ? "" : ",").append(from).append('=')
        .append(to));
    return clusterAddress(seedUris) + MAPPING + mapped;
  }

  /** The address mapping of a cluster's address ({@link #clusterAddress(List, java.util.Map)}); empty if none. */
  public static java.util.Map<String, String> addressMapping(String address) {
    int bar = address.indexOf(MAPPING);
    java.util.Map<String, String> mapping = new java.util.LinkedHashMap<>();
    if (bar >= 0) {
      for (String entry : address.substring(bar + 1).split(",")) {
        int equals = entry.indexOf('=');
        mapping.put(entry.substring(0, equals), entry.substring(equals + 1));
      }
    }
    return mapping;
  }

  /** Whether {@code address} names a cluster. */
  public static boolean isCluster(String address) {
    return address.startsWith(CLUSTER);
  }

  /** The seed URIs of a cluster's address. */
  public static List<String> seeds(String address) {
    int bar = address.indexOf(MAPPING);
    return Arrays.asList(address.substring(CLUSTER.length(), bar < 0 ? address.length() : bar).split(","));
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
