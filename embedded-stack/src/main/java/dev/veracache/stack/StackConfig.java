package dev.veracache.stack;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the servers come from. By default all are embedded; setting a URL (or Kafka bootstrap servers) makes that
 * server external (not started, not controllable), so the same tests and demos run against a real MySQL, Redis or
 * Kafka. A Redis binary keeps Redis
 * embedded (started, controlled, cleaned up as usual) but runs that {@code redis-server} instead of the 6.2 shipped in
 * embedded-redis, e.g. Debian's Redis 7.0 at {@code /usr/bin/redis-server}.
 *
 * <p>Invariants: a built config is consistent (a Redis binary and an external Redis URI are never both set) and every
 * path or URL in it was checked when it was built; errors name the setting and the bad value, never a password.
 *
 * <table>
 *   <caption>Settings (a system property wins over the environment variable)</caption>
 *   <tr><th>environment</th><th>system property</th><th>meaning</th></tr>
 *   <tr><td>{@code VERACACHE_DB_URL}</td><td>{@code veracache.db.url}</td>
 *       <td>{@code jdbc:mysql://host:port/db[?...]} (or {@code jdbc:mariadb:})</td></tr>
 *   <tr><td>{@code VERACACHE_DB_USER}</td><td>{@code veracache.db.user}</td><td>default {@code root}</td></tr>
 *   <tr><td>{@code VERACACHE_DB_PASSWORD}</td><td>{@code veracache.db.password}</td><td>default empty</td></tr>
 *   <tr><td>{@code VERACACHE_REDIS_URI}</td><td>{@code veracache.redis.uri}</td>
 *       <td>{@code redis://[:password@]host:port}</td></tr>
 *   <tr><td>{@code VERACACHE_KAFKA_BOOTSTRAP}</td><td>{@code veracache.kafka.bootstrap}</td>
 *       <td>{@code host:port[,host:port...]} of an external Kafka broker (the embedded one is started lazily)</td></tr>
 *   <tr><td>{@code VERACACHE_REDIS_BINARY}</td><td>{@code veracache.redis.binary}</td>
 *       <td>path of an executable {@code redis-server} (6.2 or newer) to run as the embedded Redis</td></tr>
 * </table>
 */
public final class StackConfig {

  /**
   * System property that the build sets for the unit tier (surefire, classes named {@code *Test}): starting an embedded
   * server there fails naming the fix, so that a test needing servers cannot hide among the fast tests.
   */
  public static final String UNIT_TIER_PROPERTY = "veracache.stack.unit-tier";
  /** Fails when the unit tier (see {@link #UNIT_TIER_PROPERTY}) is about to use a server: {@code what} names it. */
  static void refuseInUnitTier(String what) {
    if (Boolean.getBoolean(UNIT_TIER_PROPERTY)) {
      throw new IllegalStateException("the unit tier (surefire, classes named *Test) runs without servers, but this "
          + "test started " + what + ": name the test class *IT so that failsafe runs it with the servers");
    }
  }

  /** System property naming the redis-server binary to run as the embedded Redis. */
  public static final String REDIS_BINARY_PROPERTY = "veracache.redis.binary";
  /** Environment variable naming the redis-server binary to run as the embedded Redis. */
  public static final String REDIS_BINARY_ENV = "VERACACHE_REDIS_BINARY";

  /** System property naming an external Kafka broker ({@code bootstrap.servers}). */
  public static final String KAFKA_BOOTSTRAP_PROPERTY = "veracache.kafka.bootstrap";
  /** Environment variable naming an external Kafka broker ({@code bootstrap.servers}). */
  public static final String KAFKA_BOOTSTRAP_ENV = "VERACACHE_KAFKA_BOOTSTRAP";

  private static final Pattern HOST_PORT = Pattern.compile("([^:,\\s]+):(\\d{1,5})");
  private static final Pattern JDBC = Pattern.compile("jdbc:(mysql|mariadb)://([^:/?]+)(?::(\\d+))?/([^?]+)(\\?.*)?");

  final String dbUrl;
  final String dbUser;
  final String dbPassword;
  final String redisUri;
  /** The redis-server to run as the embedded Redis; null means the one shipped in embedded-redis. */
  final Path redisBinary;
  /** {@code bootstrap.servers} of an external Kafka broker; null means the embedded broker. */
  final String kafkaBootstrap;
  // Parsed parts of the external URLs.
  final String dbHost;
  final int dbPort;
  final String dbName;
  final String redisHost;
  final int redisPort;
  final String redisPassword;
  final String kafkaHost;
  final int kafkaPort;
  /** True when read by {@link #fromEnvironment()}: logs then name the variable that chose an external server. */
  final boolean fromEnvironment;

  private StackConfig(Builder b) {
    this.fromEnvironment = b.fromEnvironment;
    this.dbUrl = b.dbUrl;
    this.dbUser = b.dbUser;
    this.dbPassword = b.dbPassword;
    this.redisUri = b.redisUri;
    this.redisBinary = b.redisBinary;
    this.kafkaBootstrap = b.kafkaBootstrap;
    if (kafkaBootstrap != null) {
      String first = null;
      for (String server : kafkaBootstrap.split(",", -1)) {
        if (!HOST_PORT.matcher(server.trim()).matches() || Integer.parseInt(server.trim().split(":")[1]) > 65535) {
          throw new IllegalArgumentException("VERACACHE_KAFKA_BOOTSTRAP must be host:port[,host:port...], but '"
              + server.trim() + "' in '" + kafkaBootstrap + "' is not host:port");
        }
        first = first == null ? server.trim() : first;
      }
      this.kafkaHost = first.substring(0, first.lastIndexOf(':'));
      this.kafkaPort = Integer.parseInt(first.substring(first.lastIndexOf(':') + 1));
    } else {
      this.kafkaHost = null;
      this.kafkaPort = -1;
    }
    if (redisBinary != null) {
      if (redisUri != null) {
        throw new IllegalArgumentException("VERACACHE_REDIS_BINARY ('" + redisBinary + "') and VERACACHE_REDIS_URI "
            + "are both set: a Redis is either embedded (started from the binary) or external, not both");
      }
      if (!Files.isRegularFile(redisBinary) || !Files.isExecutable(redisBinary)) {
        throw new IllegalArgumentException("VERACACHE_REDIS_BINARY is not an executable file: '" + redisBinary
            + "'" + (Files.exists(redisBinary) ? "" : " (no such file)"));
      }
    }
    if (dbUrl != null) {
      Matcher m = JDBC.matcher(dbUrl);
      if (!m.matches()) {
        throw new IllegalArgumentException("VERACACHE_DB_URL is not a jdbc:mysql://host:port/database URL: '"
            + dbUrl + "'");
      }
      this.dbHost = m.group(2);
      this.dbPort = m.group(3) == null ? 3306 : Integer.parseInt(m.group(3));
      this.dbName = m.group(4);
    } else {
      this.dbHost = null;
      this.dbPort = -1;
      this.dbName = null;
    }
    if (redisUri != null) {
      URI uri;
      try {
        uri = new URI(redisUri);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("VERACACHE_REDIS_URI is not a URI: " + e.getReason());
      }
      if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new IllegalArgumentException("VERACACHE_REDIS_URI must look like redis://host:port, was scheme '"
            + uri.getScheme() + "' host '" + uri.getHost() + "'");
      }
      this.redisHost = uri.getHost();
      this.redisPort = uri.getPort() == -1 ? 6379 : uri.getPort();
      String userInfo = uri.getUserInfo();
      this.redisPassword = userInfo == null ? null : userInfo.substring(userInfo.indexOf(':') + 1);
    } else {
      this.redisHost = null;
      this.redisPort = -1;
      this.redisPassword = null;
    }
  }

  /** Both servers embedded. */
  public static StackConfig embedded() {
    return builder().build();
  }

  /** From system properties and environment variables (see the class comment). */
  public static StackConfig fromEnvironment() {
    Builder b = builder();
    b.fromEnvironment = true;
    String dbUrl = setting("veracache.db.url", "VERACACHE_DB_URL");
    if (dbUrl != null) {
      b.externalDatabase(dbUrl, orDefault(setting("veracache.db.user", "VERACACHE_DB_USER"), "root"),
          orDefault(setting("veracache.db.password", "VERACACHE_DB_PASSWORD"), ""));
    }
    String redis = setting("veracache.redis.uri", "VERACACHE_REDIS_URI");
    if (redis != null) {
      b.externalRedis(redis);
    }
    String kafka = setting(KAFKA_BOOTSTRAP_PROPERTY, KAFKA_BOOTSTRAP_ENV);
    if (kafka != null) {
      b.externalKafka(kafka);
    }
    String binary = setting(REDIS_BINARY_PROPERTY, REDIS_BINARY_ENV);
    if (binary != null) {
      try {
        b.redisBinary(Path.of(binary));
      } catch (java.nio.file.InvalidPathException e) {
        throw new IllegalArgumentException("VERACACHE_REDIS_BINARY is not a valid path: '" + binary + "' ("
            + e.getReason() + ")", e);
      }
    }
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public boolean externalDatabase() {
    return dbUrl != null;
  }

  public boolean externalRedis() {
    return redisUri != null;
  }

  public boolean externalKafka() {
    return kafkaBootstrap != null;
  }

  /** The redis-server binary run as the embedded Redis, if one was given (empty: the one shipped in embedded-redis). */
  public Optional<Path> redisBinary() {
    return Optional.ofNullable(redisBinary);
  }

  private static String setting(String property, String env) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      value = System.getenv(env);
    }
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static String orDefault(String value, String fallback) {
    return value == null ? fallback : value;
  }

  public static final class Builder {
    private String dbUrl;
    private String dbUser;
    private String dbPassword;
    private String redisUri;
    private Path redisBinary;
    private String kafkaBootstrap;
    private boolean fromEnvironment;

    private Builder() {}

    public Builder externalDatabase(String jdbcUrl, String user, String password) {
      this.dbUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl must not be null");
      this.dbUser = Objects.requireNonNull(user, "user must not be null");
      this.dbPassword = Objects.requireNonNull(password, "password must not be null");
      return this;
    }

    public Builder externalRedis(String uri) {
      this.redisUri = Objects.requireNonNull(uri, "uri must not be null");
      return this;
    }

    /** An external Kafka broker: {@code bootstrap.servers}, {@code host:port[,host:port...]}; checked by build. */
    public Builder externalKafka(String bootstrapServers) {
      this.kafkaBootstrap = Objects.requireNonNull(bootstrapServers, "bootstrapServers must not be null").trim();
      return this;
    }

    /**
     * Runs this {@code redis-server} as the embedded Redis instead of the one shipped in embedded-redis (Redis 6.2);
     * checked by {@link #build()}.
     */
    public Builder redisBinary(Path binary) {
      this.redisBinary = Objects.requireNonNull(binary, "binary must not be null").toAbsolutePath();
      return this;
    }

    /** @throws IllegalArgumentException naming the setting and the bad value (never a password) */
    public StackConfig build() {
      return new StackConfig(this);
    }
  }
}
