package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.stack.DatabaseReplica;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reads scaled out to a replica: the loader reads a MariaDB replica of the primary, the CDC listener reads the
 * primary's binlog. A miss while the replica lags loads the old row (or no row) after the primary's commit was
 * invalidated; the version fence refuses that fill (the record's floor is the change's version), so the old row is
 * never cached, and once the replica caught up the next miss caches the new one. The naive pattern (delete on change,
 * plain set after a load) caches the replica's old row until its TTL: the baseline, same servers, same lag.
 */
@ExtendWith(EmbeddedStackExtension.class)
class LaggingReplicaIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final Duration WITHIN = Duration.ofSeconds(20);

  /** A row of the test table. */
  public record Product(long id, String name, long version) {}

  private DatabaseServer primary;
  private DatabaseReplica replica;
  private String table;
  private String namespace;
  private long serverId;
  private String redisUri;
  private StatefulRedisConnection<String, String> redisCli;
  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();

  @BeforeEach
  void setUp(EmbeddedStack stack) throws Exception {
    primary = stack.database();
    replica = stack.databaseReplica();
    int n = SEQUENCE.incrementAndGet();
    table = "replica_product_" + n;
    namespace = "replica" + n;
    serverId = 5700L + n;
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    redisUri = stack.redis().uri();
    RedisClient client = RedisClient.create(redisUri);
    closeables.push(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    redisCli = client.connect();
    closeables.push(redisCli);
    Path stateDir = Files.createTempDirectory("veracache-replica-test");
    closeables.push(ListenerFixture.deleting(stateDir));
    CdcInvalidator cdc = CdcInvalidator.start(CdcOptions.builder()
        .database(primary.host(), primary.port(), primary.user(), primary.password())
        .serverId(serverId)
        .name("replica-test-" + serverId)
        .redis(VeracacheOptions.builder(stack.redis().uri()).clientName("cdc").build())
        .mappings(InvalidationMappings.builder().table(primary.databaseName() + "." + table).namespace(namespace)
            .key("{id}").version("version").add().build())
        .stateDirectory(stateDir)
        .firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL)
        .build());
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).as("listener live").isTrue();
    replica.resumeApplying(); // a test that failed may have left it stopped
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();
  }

  @AfterEach
  void tearDown() throws Exception {
    replica.resumeApplying();
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  private CacheAside<Long, Product> cache(String name) {
    Veracache veracache = Veracache.create(VeracacheOptions.builder(redisUri).clientName(name)
        .meterRegistry(new SimpleMeterRegistry()).build());
    closeables.push(veracache);
    return veracache.cacheAside(CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class))
        .version(Product::version).build());
  }

  /** The loader of a service that scaled its reads out: every read goes to the replica. */
  private final CacheLoader<Long, Product> fromReplica = id -> find(replica, id);

  @Test
  void aMissThatLoadsALaggingReplicasOldRowIsRefusedByTheVersionFence() throws Exception {
    CacheAside<Long, Product> cache = cache("fenced");
    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();
    assertThat(cache.get(1L, fromReplica).name()).isEqualTo("v1");

    replica.stopApplying();
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
    awaitRecord(1, "P:2:"); // the listener (primary's binlog) invalidated: floor 2

    assertThat(cache.get(1L, fromReplica).name()).as("the lagging replica's row, to this caller").isEqualTo("v1");
    assertThat(redisCli.sync().get(namespace + ":1")).as("but not cached: below the floor").startsWith("P:2:");
    assertThat(find(replica, 1L).version()).as("the replica still lags").isEqualTo(1);

    replica.resumeApplying();
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();
    assertThat(cache.get(1L, fromReplica).name()).isEqualTo("v2");
    assertThat(redisCli.sync().get(namespace + ":1")).startsWith("V:2:");
  }

  @Test
  void aNotFoundReadFromAReplicaThatHasNotAppliedTheInsertIsNotCached() throws Exception {
    CacheAside<Long, Product> cache = cache("fenced-insert");
    replica.stopApplying();
    sql("INSERT INTO " + table + " VALUES (2, 'new', 1)");
    awaitRecord(2, "P:1:"); // the insert's invalidation: the row exists at version 1

    assertThat(cache.get(2L, fromReplica)).as("the replica has no row yet").isNull();
    assertThat(redisCli.sync().get(namespace + ":2")).as("\"not found\" refused under P").startsWith("P:1:");

    replica.resumeApplying();
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();
    assertThat(cache.get(2L, fromReplica)).isEqualTo(new Product(2, "new", 1));
  }

  /**
   * The baseline: delete on change (here after the listener's invalidation, as a delete-after-write service would),
   * then a miss loads from the lagging replica and sets what it read. The old row stays cached after the replica
   * caught up: permanent until its TTL.
   */
  @Test
  void theNaivePatternCachesTheLaggingReplicasOldRowForGood() throws Exception {
    String key = "naive:" + namespace + ":3";
    sql("INSERT INTO " + table + " VALUES (3, 'v1', 1)");
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();
    redisCli.sync().set(key, "v1");

    replica.stopApplying();
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 3");
    redisCli.sync().del(key); // delete after write
    if (redisCli.sync().get(key) == null) { // a miss: load from the replica and set
      redisCli.sync().set(key, find(replica, 3L).name());
    }
    replica.resumeApplying();
    assertThat(replica.awaitCaughtUp(WITHIN)).isTrue();

    assertThat(find(primary, 3L).name()).isEqualTo("v2");
    assertThat(redisCli.sync().get(key)).as("stale, and nothing will ever fix it").isEqualTo("v1");
  }

  private void awaitRecord(long id, String prefix) {
    await().atMost(WITHIN).until(() -> String.valueOf(redisCli.sync().get(namespace + ":" + id)).startsWith(prefix));
  }

  private Product find(DatabaseServer db, long id) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT id, name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3)) : null;
      }
    }
  }

  private void sql(String statement) throws SQLException {
    try (Connection c = primary.connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }
}
