package dev.veracache.stack;

/**
 * A Redis server: the embedded one (by default the 6.2 shipped in embedded-redis, or the {@code redis-server} named by
 * {@code VERACACHE_REDIS_BINARY}) or an external one. RESP3 and client tracking are needed (Redis 6.0 or newer).
 */
public interface RedisServer extends ServerControls {

  String host();

  int port();

  /** {@code redis://host:port}, with the password if one is configured: never log it. */
  String uri();

  /** FLUSHALL. */
  void flushAll();

  /**
   * The server's version as it reports it ({@code redis_version} of INFO, e.g. {@code 6.2.11} or {@code 7.0.15}), asked
   * of the running server.
   *
   * @throws IllegalStateException naming the server if it cannot be asked (stopped, paused, unreachable)
   */
  String version();
}
