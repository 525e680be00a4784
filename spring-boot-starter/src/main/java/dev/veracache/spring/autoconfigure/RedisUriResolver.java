package dev.veracache.spring.autoconfigure;

import io.lettuce.core.RedisURI;
import org.springframework.core.env.Environment;

/**
 * Where the cache's Redis is: {@code veracache.redis.uri}, else the application's {@code spring.data.redis.*}
 * ({@code url}, or {@code host}, {@code port}, {@code username}, {@code password}, {@code database},
 * {@code ssl.enabled}), so a service that already talks to Redis through Spring Data needs no new setting.
 */
final class RedisUriResolver {

  private RedisUriResolver() {}

  /** Whether either form is configured. */
  static boolean configured(Environment env) {
    return has(env, "veracache.redis.uri") || has(env, "spring.data.redis.url") || has(env, "spring.data.redis.host");
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
    RedisURI.Builder b = RedisURI.builder().withHost(host.strip())
        .withPort(property(env, "spring.data.redis.port", Integer.class, 6379))
        .withDatabase(property(env, "spring.data.redis.database", Integer.class, 0))
        .withSsl(property(env, "spring.data.redis.ssl.enabled", Boolean.class, false));
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
