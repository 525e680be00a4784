package dev.veracache.spring.cdc;

import java.nio.file.Path;
import org.springframework.core.env.Environment;

/**
 * {@link CdcConnectionDetails} from {@code veracache.cdc.*}. Redis: {@code veracache.cdc.redis.uri}, else the cache's
 * {@code veracache.redis.uri} (read from the {@link Environment}: one Redis for cache and listener is the usual
 * setup), else {@code redis://127.0.0.1:6379} (the sidecar's default).
 */
public final class PropertiesCdcConnectionDetails implements CdcConnectionDetails {

  /** The cache's Redis, the listener's default. */
  public static final String CACHE_REDIS_URI = "veracache.redis.uri";
  static final String DEFAULT_REDIS_URI = "redis://127.0.0.1:6379";

  private final CdcProperties properties;
  private final String redisUri;

  public PropertiesCdcConnectionDetails(CdcProperties properties, Environment environment) {
    this.properties = properties;
    String own = properties.redis().uri();
    String cache = environment.getProperty(CACHE_REDIS_URI);
    this.redisUri = own != null && !own.isBlank() ? own
        : cache != null && !cache.isBlank() ? cache : DEFAULT_REDIS_URI;
  }

  @Override
  public String databaseHost() {
    return properties.database().host();
  }

  @Override
  public int databasePort() {
    return properties.database().port();
  }

  @Override
  public String databaseUser() {
    return properties.database().user();
  }

  @Override
  public String databasePassword() {
    return properties.database().password();
  }

  @Override
  public boolean databaseSsl() {
    return properties.database().ssl();
  }

  @Override
  public String redisUri() {
    return redisUri;
  }

  @Override
  public Path stateDirectory() {
    return properties.stateDirectory();
  }

  @Override
  public String toString() {
    return databaseHost() + ":" + databasePort();
  }
}
