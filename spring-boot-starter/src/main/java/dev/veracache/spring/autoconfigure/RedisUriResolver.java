package dev.veracache.spring.autoconfigure;

import io.lettuce.core.RedisURI;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;

/**
 * Where the cache's Redis is: {@code veracache.redis.uri}, else the application's {@code spring.data.redis.*}
 * ({@code url}, or {@code host}, {@code port}, {@code username}, {@code password}, {@code database},
 * {@code ssl.enabled}), so a service that already talks to Redis through Spring Data needs no new setting. A Redis
 * Cluster: {@code veracache.redis.cluster-nodes}, else {@code spring.data.redis.cluster.nodes} ({@link #clusterSeeds}).
 */
final class RedisUriResolver {

  private RedisUriResolver() {}

  /** Whether either form is configured, for one Redis or a cluster. */
  static boolean configured(Environment env) {
    return has(env, "veracache.redis.uri") || has(env, "spring.data.redis.url") || has(env, "spring.data.redis.host")
        || !list(env, CLUSTER_NODES).isEmpty() || !list(env, SPRING_CLUSTER_NODES).isEmpty();
  }

  static final String CLUSTER_NODES = "veracache.redis.cluster-nodes";
  private static final String SPRING_CLUSTER_NODES = "spring.data.redis.cluster.nodes";

  /**
   * The seed nodes of a Redis Cluster: {@code veracache.redis.cluster-nodes}, else (when {@code veracache.redis.uri}
   * is not set either) {@code spring.data.redis.cluster.nodes} with Spring Data's credentials and TLS; empty for one
   * Redis.
   *
   * @throws IllegalArgumentException when {@code veracache.redis.uri} and {@code veracache.redis.cluster-nodes} are
   *     both set, or a node is not {@code host:port}
   */
  static List<RedisURI> clusterSeeds(VeracacheProperties properties, Environment env) {
    List<String> own = properties.getRedis().getClusterNodes().stream().filter(n -> n != null && !n.isBlank())
        .map(String::strip).toList();
    boolean uriSet = properties.getRedis().getUri() != null && !properties.getRedis().getUri().isBlank();
    if (!own.isEmpty()) {
      if (uriSet) {
        throw new IllegalArgumentException("veracache.redis.uri and " + CLUSTER_NODES + " are both set: set uri for "
            + "one Redis, or cluster-nodes for a Redis Cluster");
      }
      List<RedisURI> seeds = new ArrayList<>();
      for (int i = 0; i < own.size(); i++) {
        try {
          seeds.add(RedisURI.create(own.get(i)));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(CLUSTER_NODES + "[" + i + "] is not a Redis URI (" + e.getMessage()
              + "); expected redis://[user:password@]host:port or rediss:// for TLS", e);
        }
      }
      return seeds;
    }
    if (uriSet) {
      return List.of();
    }
    List<String> springNodes = list(env, SPRING_CLUSTER_NODES);
    List<RedisURI> seeds = new ArrayList<>();
    for (int i = 0; i < springNodes.size(); i++) {
      String node = springNodes.get(i).strip();
      int colon = node.lastIndexOf(':');
      int port;
      try {
        port = colon > 0 ? Integer.parseInt(node.substring(colon + 1)) : -1;
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port <= 0) {
        throw new IllegalArgumentException(SPRING_CLUSTER_NODES + "[" + i + "]=" + node + " is not host:port");
      }
      seeds.add(withSpringCredentials(RedisURI.builder().withHost(node.substring(0, colon)).withPort(port), env));
    }
    return seeds;
  }

  private static List<String> list(Environment env, String key) {
    return Binder.get(env).bind(key, Bindable.listOf(String.class)).orElse(List.of()).stream()
        .filter(value -> value != null && !value.isBlank()).toList();
  }

  static RedisURI resolve(VeracacheProperties properties, Environment env) {
    String uri = properties.getRedis().getUri();
    String source = "veracache.redis.uri";
    if (uri == null || uri.isBlank()) {
      uri = env.getProperty("spring.data.redis.url");
      source = "spring.data.redis.url";
    }
    if (uri != null && !uri.isBlank()) {
      try {
        return RedisURI.create(uri.strip());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(source + " is not a Redis URI (" + e.getMessage() + "); expected "
            + "redis://[user:password@]host:port[/database] or rediss:// for TLS", e);
      }
    }
    String host = env.getProperty("spring.data.redis.host");
    if (host == null || host.isBlank()) {
      throw new IllegalStateException("no Redis configured: set veracache.redis.uri (or spring.data.redis.url, or "
          + "spring.data.redis.host)");
    }
    return withSpringCredentials(RedisURI.builder().withHost(host.strip())
        .withPort(property(env, "spring.data.redis.port", Integer.class, 6379))
        .withDatabase(property(env, "spring.data.redis.database", Integer.class, 0)), env);
  }

  /** Spring Data's TLS switch, username and password on a URI being built. */
  private static RedisURI withSpringCredentials(RedisURI.Builder b, Environment env) {
    b.withSsl(property(env, "spring.data.redis.ssl.enabled", Boolean.class, false));
    String password = env.getProperty("spring.data.redis.password");
    if (password != null && !password.isEmpty()) {
      String user = env.getProperty("spring.data.redis.username");
      if (user != null && !user.isEmpty()) {
        b.withAuthentication(user, password.toCharArray());
      } else {
        b.withPassword(password.toCharArray());
      }
    }
    return b.build();
  }

  private static <T> T property(Environment env, String key, Class<T> type, T fallback) {
    try {
      return env.getProperty(key, type, fallback);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(key + "=" + env.getProperty(key) + " is not a " + type.getSimpleName(), e);
    }
  }

  private static boolean has(Environment env, String key) {
    String value = env.getProperty(key);
    return value != null && !value.isBlank();
  }
}
