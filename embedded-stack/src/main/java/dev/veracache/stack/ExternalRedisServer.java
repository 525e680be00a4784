package dev.veracache.stack;

import java.io.IOException;

/** A Redis server given by {@code VERACACHE_REDIS_URI}. */
final class ExternalRedisServer extends ExternalServer implements RedisServer {

  private final StackConfig config;

  ExternalRedisServer(StackConfig config) {
    super("Redis at " + config.redisHost + ":" + config.redisPort);
    this.config = config;
  }

  @Override
  public String host() {
    return config.redisHost;
  }

  @Override
  public int port() {
    return config.redisPort;
  }

  @Override
  public String uri() {
    return config.redisUri;
  }

  @Override
  public void flushAll() {
    try {
      RespClient.command(config.redisHost, config.redisPort, config.redisPassword, 5000, "FLUSHALL");
    } catch (IOException e) {
      throw new IllegalStateException("FLUSHALL on Redis at " + config.redisHost + ":" + config.redisPort
          + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public String version() {
    try {
      return RespClient.version(config.redisHost, config.redisPort, config.redisPassword, 5000);
    } catch (IOException e) {
      throw new IllegalStateException("cannot ask Redis at " + config.redisHost + ":" + config.redisPort
          + " for its version: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "external Redis at " + config.redisHost + ":" + config.redisPort + " ("
        + (config.fromEnvironment ? "set by VERACACHE_REDIS_URI or veracache.redis.uri" : "StackConfig")
        + (config.redisPassword == null ? "" : ", with a password") + ")";
  }
}
