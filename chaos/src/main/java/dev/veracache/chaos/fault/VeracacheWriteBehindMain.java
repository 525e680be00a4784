package dev.veracache.chaos.fault;

import com.mysql.cj.jdbc.MysqlDataSource;
import dev.veracache.CacheOptions;
import dev.veracache.FlusherOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.WriteBehindCache;
import dev.veracache.WriteBehindChange;
import dev.veracache.WriteBehindException;
import dev.veracache.WriteBehindFlusher;
import dev.veracache.WriteBehindOptions;
import dev.veracache.WriteBehindWriter;
import dev.veracache.chaos.fault.HeapWriteBehindMain.BadConfigException;
import dev.veracache.chaos.fault.HeapWriteBehindMain.Config;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Child JVM for R8 with Veracache's write-behind on Kafka, in one of two roles ({@value #ROLE}):
 * <ul>
 *   <li>{@code producer}: a {@link WriteBehindCache} that puts over keys {@code k0..k<keys-1>} at the configured rate
 *       and prints {@code ACK <key> <version>} only after {@code put} returned (the log holds the write), or
 *       {@code FAIL <key>} when the put threw (nothing acknowledged: the broker was down, Redis refused a version);</li>
 *   <li>{@code flusher}: a {@link WriteBehindFlusher} of consumer group {@value #GROUP_PROPERTY} that applies the log to
 *       the table with a versioned {@code UPDATE .. WHERE version < ?} (the version the write got is the one the row
 *       stores). Its consumer is a static member of the group ({@code group.instance.id}), so a fresh JVM started after
 *       a SIGKILL takes the dead one's partitions at once and replays from the last committed offsets.</li>
 * </ul>
 *
 * <p>Protocol: as {@link HeapWriteBehindMain} (system properties {@code veracache.writebehind.*}, the database
 * password only in {@link HeapWriteBehindMain#PASSWORD_ENV}, {@code READY} once started, exit codes
 * {@link HeapWriteBehindMain#EXIT_BAD_CONFIG} and {@link HeapWriteBehindMain#EXIT_FAILED}, halt at the end of stdin),
 * so that {@link WriteBehindProcess} runs both.
 *
 * <p>Invariants: an ACK line is printed only after {@code put} returned its version, so every acknowledged write is in
 * the log; a failed put prints FAIL, never ACK. The flusher's writer never lowers a row's version, so replays and
 * duplicates change nothing.
 */
public final class VeracacheWriteBehindMain {

  static final String ROLE = HeapWriteBehindMain.PROPERTY_PREFIX + "role";
  static final String REDIS_URI = HeapWriteBehindMain.PROPERTY_PREFIX + "redisUri";
  static final String BOOTSTRAP = HeapWriteBehindMain.PROPERTY_PREFIX + "bootstrapServers";
  static final String TOPIC = HeapWriteBehindMain.PROPERTY_PREFIX + "topic";
  static final String NAMESPACE = HeapWriteBehindMain.PROPERTY_PREFIX + "namespace";
  static final String GROUP_PROPERTY = HeapWriteBehindMain.PROPERTY_PREFIX + "group";
  static final String FAIL = "FAIL";

  /**
   * How long a put waits for the log: short, so that puts during a broker outage fail (and are counted) instead of
   * waiting it out. The same timeout bounds the start-up check of the topics, which a cold JVM on a busy machine can
   * miss: creating the cache or flusher is retried for up to {@link #START_TIMEOUT}.
   */
  static final Duration SEND_TIMEOUT = Duration.ofSeconds(2);
  static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private VeracacheWriteBehindMain() {}

  /** The role a child runs. */
  enum Role { PRODUCER, FLUSHER }

  public static void main(String[] args) {
    Properties p = System.getProperties();
    Role role;
    String redisUri;
    String bootstrap;
    String topic;
    String namespace;
    try {
      String roleName = Config.required(p, ROLE);
      try {
        role = Role.valueOf(roleName.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new BadConfigException(ROLE + " must be producer or flusher, got '" + roleName + "'");
      }
      redisUri = Config.required(p, REDIS_URI);
      bootstrap = Config.required(p, BOOTSTRAP);
      topic = Config.required(p, TOPIC);
      namespace = Config.required(p, NAMESPACE);
    } catch (BadConfigException e) {
      System.err.println("bad configuration: " + e.getMessage());
      System.exit(HeapWriteBehindMain.EXIT_BAD_CONFIG);
      return;
    }
    HeapWriteBehindMain.haltAtEndOfStdin();
    try {
      if (role == Role.PRODUCER) {
        producer(p, redisUri, bootstrap, topic, namespace);
      } else {
        flusher(p, redisUri, bootstrap, topic, namespace);
      }
    } catch (BadConfigException e) {
      System.err.println("bad configuration: " + e.getMessage());
      System.exit(HeapWriteBehindMain.EXIT_BAD_CONFIG);
    } catch (RuntimeException e) {
      System.err.println("the write-behind " + role.name().toLowerCase(Locale.ROOT) + " failed: " + e);
      System.exit(HeapWriteBehindMain.EXIT_FAILED);
    }
  }

  private static WriteBehindOptions<String, String> options(String bootstrap, String topic, String namespace,
      Function<String, String> keyDecoder, String groupInstanceId) {
    // The values are opaque text; the version a fill would need is the row's, and this cache never fills (no get).
    CacheOptions<String, String> cache = CacheOptions.<String, String>builder(namespace, ValueCodec.utf8())
        .version(value -> {
          throw new IllegalStateException("the chaos write-behind only writes: no value of it is ever filled");
        }).build();
    WriteBehindOptions.Builder<String, String> b = WriteBehindOptions.builder(cache, bootstrap, topic)
        .sendTimeout(SEND_TIMEOUT);
    if (keyDecoder != null) {
      b.keyDecoder(keyDecoder);
    }
    if (groupInstanceId != null) {
      b.kafkaProperty("group.instance.id", groupInstanceId);
      b.kafkaProperty("session.timeout.ms", "10000");
    }
    return b.build();
  }

  /**
   * A new client and what {@code create} makes of it; while Kafka does not answer the start-up check in time
   * ({@link WriteBehindException}), the client is closed and both are made again, for up to {@link #START_TIMEOUT}.
   */
  private static <T> T startRetrying(String redisUri, String clientName, Function<Veracache, T> create) {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      Veracache client = Veracache.create(VeracacheOptions.builder(redisUri).clientName(clientName).build());
      try {
        return create.apply(client);
      } catch (WriteBehindException e) {
        client.close();
        if (System.nanoTime() > deadline) {
          throw e;
        }
        System.err.println("start-up check failed, retrying: " + e.getMessage());
      }
    }
  }

  private static void producer(Properties p, String redisUri, String bootstrap, String topic, String namespace)
      throws BadConfigException {
    int keys = Config.positiveInt(p, HeapWriteBehindMain.KEYS);
    int putsPerSecond = Config.positiveInt(p, HeapWriteBehindMain.PUTS_PER_SECOND);
    long seed = Config.parseLong(p, HeapWriteBehindMain.SEED);
    WriteBehindCache<String, String> cache = startRetrying(redisUri, "chaos-wb-producer",
        client -> client.writeBehind(options(bootstrap, topic, namespace, null, null), key -> {
          throw new IllegalStateException("the chaos write-behind producer never reads key " + key);
        }));
    System.out.println(HeapWriteBehindMain.READY);
    System.out.flush();
    Random random = new Random(seed);
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / putsPerSecond;
    long next = System.nanoTime();
    long failed = 0;
    for (long n = 0; ; n++) {
      String key = "k" + random.nextInt(keys);
      String line;
      try {
        long version = cache.put(key, "put " + n);
        line = HeapWriteBehindMain.ACK + " " + key + " " + version; // put() has returned: the log holds it
      } catch (WriteBehindException e) {
        line = FAIL + " " + key;
        if (failed++ % 50 == 0) { // an outage fails every put: the first, then one in 50
          System.err.println("put of " + key + " failed, not acknowledged (" + failed + " so far): "
              + e.getMessage());
        }
      }
      System.out.println(line);
      System.out.flush();
      next += periodNanos;
      long now = System.nanoTime();
      if (now - next > HeapWriteBehindMain.MAX_PACING_LAG_NANOS) {
        next = now; // after a stall (a put waiting for the log), resume the rate instead of bursting
      }
      HeapWriteBehindMain.parkUntil(next);
    }
  }

  private static void flusher(Properties p, String redisUri, String bootstrap, String topic, String namespace)
      throws BadConfigException {
    String jdbcUrl = Config.required(p, HeapWriteBehindMain.JDBC_URL);
    if (jdbcUrl.toLowerCase(Locale.ROOT).contains("password")) {
      throw new BadConfigException(HeapWriteBehindMain.JDBC_URL + " must not carry a password; pass it in "
          + HeapWriteBehindMain.PASSWORD_ENV);
    }
    String table = Config.required(p, HeapWriteBehindMain.TABLE);
    if (!HeapWriteBehindMain.IDENTIFIER.matcher(table).matches()) {
      throw new BadConfigException(HeapWriteBehindMain.TABLE + " must be an SQL identifier, got '" + table + "'");
    }
    String group = Config.required(p, GROUP_PROPERTY);
    MysqlDataSource database = new MysqlDataSource();
    database.setURL(jdbcUrl);
    database.setUser(Config.required(p, HeapWriteBehindMain.USER));
    database.setPassword(System.getenv().getOrDefault(HeapWriteBehindMain.PASSWORD_ENV, ""));
    String update = "UPDATE " + table + " SET version = ? WHERE k = ? AND version < ?";
    // The version the write got is the one the row stores; an older one than the row's changes nothing.
    WriteBehindWriter<String, String> writer = (connection, changes) -> {
      try (PreparedStatement ps = connection.prepareStatement(update)) {
        for (WriteBehindChange<String, String> change : changes) {
          ps.setLong(1, change.version());
          ps.setString(2, change.key());
          ps.setLong(3, change.version());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    };
    FlusherOptions flusherOptions = FlusherOptions.builder(group)
        .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).build();
    WriteBehindFlusher<String, String> flusher = startRetrying(redisUri, "chaos-wb-flusher",
        client -> client.writeBehindFlusher(options(bootstrap, topic, namespace, Function.identity(),
            group + "-flusher"), flusherOptions, database, writer));
    System.out.println(HeapWriteBehindMain.READY);
    System.out.flush();
    while (flusher.isRunning()) {
      HeapWriteBehindMain.parkUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
    }
    System.err.println("the write-behind flusher stopped running (its error is in its log)");
    System.exit(HeapWriteBehindMain.EXIT_FAILED);
  }
}
