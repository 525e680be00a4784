package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the listener tests share: the embedded MariaDB and Redis, a fresh table name, namespace, server id and state
 * directory per test, a Redis client to look at keys, and a hook that records what the mapper emitted (from real
 * Debezium records of the real binlog).
 */
@ExtendWith(EmbeddedStackExtension.class)
abstract class ListenerFixture {

  static final Duration WITHIN = Duration.ofSeconds(20);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  DatabaseServer db;
  RedisServer redis;
  String table;
  String namespace;
  long serverId;
  Path stateDir;
  StatefulRedisConnection<String, String> redisCli;
  final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** Every invalidation the listener was about to apply, in order. */
  final List<KeyInvalidation> emitted = new CopyOnWriteArrayList<>();
  final CdcHooks recording = new CdcHooks() {
    @Override
    public void beforeApply(List<KeyInvalidation> invalidations) {
      emitted.addAll(invalidations);
    }
  };

  @BeforeEach
  void setUpFixture(DatabaseServer db, RedisServer redis) throws Exception {
    this.db = db;
    this.redis = redis;
    int n = SEQUENCE.incrementAndGet();
    this.table = getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT).replaceAll("test$", "") + "_" + n;
    this.namespace = table.replace("_", "");
    this.serverId = 6100L + n;
    this.stateDir = Files.createTempDirectory("veracache-cdc-test");
    closeables.push(deleting(stateDir)); // closed last: after every listener using it
    RedisClient client = RedisClient.create(redis.uri());
    closeables.push(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    redisCli = client.connect();
    closeables.push(redisCli);
  }

  @AfterEach
  void tearDownFixture() throws Exception {
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  /** Deletes a test's temporary directory when closed: a test run leaves nothing in the temporary directory. */
  static AutoCloseable deleting(java.nio.file.Path dir) {
    return () -> {
      try (java.util.stream.Stream<java.nio.file.Path> paths = Files.walk(dir)) {
        for (java.nio.file.Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      } catch (java.nio.file.NoSuchFileException e) {
        // already gone
      }
    };
  }

  /** {@code database.table} of this test's table. */
  String qualified() {
    return db.databaseName() + "." + table;
  }

  CdcOptions.Builder options(InvalidationMappings mappings) {
    return CdcOptions.builder()
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(serverId)
        .name("cdc-test-" + serverId)
        .redis(VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofMillis(300)).clientName("cdc").build())
        .mappings(mappings)
        .stateDirectory(stateDir)
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .meterRegistry(registry);
  }

  CdcInvalidator startListener(CdcOptions options, CdcHooks hooks) {
    CdcInvalidator cdc = CdcInvalidator.start(options, hooks);
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).as("listener live").isTrue();
    return cdc;
  }

  void sql(String... statements) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  String redisValue(String key) {
    return redisCli.sync().get(namespace + ":" + key);
  }

  /** A tombstone of any kind (T, or P and D of the fence scripts that know deletes) at that version or floor. */
  boolean tombstoned(String key, long version) {
    String raw = redisValue(key);
    return raw != null && raw.matches("[TPD]:" + version + ":.*");
  }

  /** The invalidations emitted so far for one key, in order. */
  List<KeyInvalidation> emittedFor(String key) {
    return emitted.stream().filter(i -> i.key().equals(key) && i.namespace().equals(namespace)).toList();
  }

  KeyInvalidation invalidation(String key, long version, boolean rowDeleted) {
    return new KeyInvalidation(namespace, key, version, rowDeleted, Duration.ofSeconds(60).toMillis());
  }

  double counter(String name, String... tags) {
    var counter = registry.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }
}
