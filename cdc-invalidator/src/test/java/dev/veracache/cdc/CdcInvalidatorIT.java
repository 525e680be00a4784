package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.L1Probe;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.internal.StoredPosition;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import dev.veracache.testing.CacheHooks;
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
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * The listener against the real embedded MariaDB binlog and Redis. Every write here is plain JDBC, as another service
 * or a SQL console would make it: the application never invalidates; the binlog does.
 */
@ExtendWith(EmbeddedStackExtension.class)
class CdcInvalidatorIT {

  private static final Duration WITHIN = Duration.ofSeconds(20);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  /** A row of the test table. */
  public record Product(long id, String sku, String name, long version) {}

  private DatabaseServer db;
  private RedisServer redis;
  private String table;
  private String namespace;
  private long serverId;
  private Path stateDir;
  private StatefulRedisConnection<String, String> redisCli;
  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  /** The client behind each cache made by {@link #instance}, standing for one application JVM. */
  private final IdentityHashMap<CacheAside<Long, Product>, Veracache> instances = new IdentityHashMap<>();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void setUp(DatabaseServer db, RedisServer redis) throws Exception {
    this.db = db;
    this.redis = redis;
    int n = SEQUENCE.incrementAndGet();
    this.table = "cdc_product_" + n;
    this.namespace = "cdc" + n;
    this.serverId = 5400L + n;
    this.stateDir = Files.createTempDirectory("veracache-cdc-test");
    closeables.push(ListenerFixture.deleting(stateDir)); // closed last: after every listener using it
    // A case-sensitive collation: the mapping can render {sku} as stored (a *_ci column needs {sku:lower} or so).
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, sku VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
        + "NOT NULL, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    RedisClient client = RedisClient.create(redis.uri());
    closeables.push(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    redisCli = client.connect();
    closeables.push(redisCli);
    Logger listenerLog = (Logger) LoggerFactory.getLogger(CdcInvalidator.class);
    logs.start();
    listenerLog.addAppender(logs);
    closeables.push(() -> listenerLog.detachAppender(logs));
  }

  @AfterEach
  void tearDown() throws Exception {
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  private InvalidationMappings mappings() {
    return InvalidationMappings.builder()
        .table(db.databaseName() + "." + table).namespace(namespace).key("{id}").key("sku:{sku}").version("version")
        .add().build();
  }

  private CdcOptions.Builder options() {
    return CdcOptions.builder()
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(serverId)
        .name("cdc-test-" + serverId)
        .redis(VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofMillis(300)).clientName("cdc").build())
        .mappings(mappings())
        .stateDirectory(stateDir)
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .meterRegistry(registry);
  }

  private CdcInvalidator startListener(CdcHooks hooks) {
    return startListener(options(), hooks);
  }

  private CdcInvalidator startListener(CdcOptions.Builder options, CdcHooks hooks) {
    CdcInvalidator cdc = CdcInvalidator.start(options.build(), hooks);
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).as("listener live").isTrue();
    return cdc;
  }

  private CacheAside<Long, Product> instance(String name, CacheHooks hooks) {
    Veracache veracache = Veracache.create(VeracacheOptions.builder(redis.uri()).clientName(name)
        .meterRegistry(new SimpleMeterRegistry()).build());
    closeables.push(veracache);
    CacheAside<Long, Product> cache = veracache.cacheAside(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).version(Product::version).hooks(hooks).build());
    instances.put(cache, veracache);
    return cache;
  }

  /**
   * Reads the key until it sits in the instance's L1: a read (which may fill Redis), then, once every push Redis sent
   * so far has reached the instance (its own fill comes back as a push: NOLOOP does not spare script writes), a second
   * read, an L2 hit, which puts it in L1. Asserts that it is there, looked at without loading.
   */
  private void warmL1(CacheAside<Long, Product> cache, long id) {
    cache.get(id, loader);
    L1Probe.awaitPushesSoFar(instances.get(cache));
    cache.get(id, loader);
    assertThat(L1Probe.inL1(cache, id)).as("in this instance's L1 before the change").isTrue();
  }

  private final CacheLoader<Long, Product> loader = this::find;

  @Test
  void anExternalWriteLeavesL2AndTheL1OfTwoInstances() throws Exception {
    startListener(CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a", CacheHooks.NONE);
    CacheAside<Long, Product> b = instance("b", CacheHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> a.get(1L, loader) != null);
    warmL1(a, 1L);
    warmL1(b, 1L);
    assertThat(a.get(1L, loader).name()).isEqualTo("v1");
    assertThat(b.get(1L, loader).name()).isEqualTo("v1");

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
    // Nobody reads meanwhile: only the listener's invalidation, pushed by Redis, can take the entries out of L1.
    await().atMost(WITHIN).until(() -> !L1Probe.inL1(a, 1L) && !L1Probe.inL1(b, 1L));
    assertThat(redisCli.sync().get(namespace + ":1")).as("L2: the update's tombstone").isEqualTo("P:2:0:0");
    // The stage meters saw the insert and the update (their values are timings: counted here, never judged).
    await().atMost(WITHIN).untilAsserted(() -> {
      for (String stage : List.of("read", "queued", "applied")) {
        assertThat(registry.get("veracache.cdc.event.stage").tag("stage", stage).timer().count()).as(stage)
            .isGreaterThanOrEqualTo(2);
      }
      for (String stage : List.of("map", "redis", "progress", "offsets")) {
        assertThat(registry.get("veracache.cdc.batch.stage").tag("stage", stage).timer().count()).as(stage)
            .isPositive();
      }
      assertThat(registry.get("veracache.cdc.batch.size").summary().totalAmount()).isGreaterThanOrEqualTo(2);
    });
    assertThat(a.get(1L, loader).name()).isEqualTo("v2");
    assertThat(b.get(1L, loader).name()).isEqualTo("v2");

    warmL1(a, 1L);
    warmL1(b, 1L);
    sql("DELETE FROM " + table + " WHERE id = 1");
    await().atMost(WITHIN).until(() -> !L1Probe.inL1(a, 1L) && !L1Probe.inL1(b, 1L));
    assertThat(a.get(1L, loader)).isNull();
    assertThat(b.get(1L, loader)).isNull();
  }

  @Test
  void aFillRacingAnUpdateIsRefusedEndToEnd() throws Exception {
    startListener(CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean first = new AtomicBoolean(true);
    CacheAside<Long, Product> reader = instance("reader", new CacheHooks() {
      @Override
      public void afterLoad(String redisKey) {
        if (first.getAndSet(false)) {
          held.countDown();
          awaitLatch(release);
        }
      }
    });
    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> reader.get(1L, loader));
    awaitLatch(held);
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1"); // nobody but the binlog invalidates
    await().atMost(WITHIN).until(() -> String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("P:2:"));
    release.countDown();
    assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).isEqualTo("v1");

    assertThat(reader.get(1L, loader).name()).as("the stale fill was refused").isEqualTo("v2");
  }

  @Test
  void invalidationsMadeWhileRedisIsPausedLandAfterItResumes() throws Exception {
    CdcInvalidator cdc = startListener(CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a", CacheHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> a.get(1L, loader) != null
        && String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("V:1:"));

    redisCli.sync().clientSetname("test-cli");
    redis.pause();
    try {
      sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
      await().atMost(WITHIN).until(() -> counter("veracache.cdc.retries") >= 2);
      assertThat(cdc.isLive()).isTrue();
    } finally {
      redis.resume();
    }
    await().atMost(WITHIN).until(() -> String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("P:2:"));
    await().atMost(WITHIN).until(() -> a.get(1L, loader).name().equals("v2"));
  }

  @Test
  void invalidationsMadeWhileRedisIsDownLandAfterItReturns() throws Exception {
    CdcInvalidator cdc = startListener(CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));

    redis.stop(); // the embedded Redis has no persistence: it comes back empty
    try {
      sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
      await().atMost(WITHIN).until(() -> counter("veracache.cdc.retries") >= 2);
    } finally {
      redis.start();
    }
    // The retried invalidation lands on the returned Redis: the tombstone fences any fill older than v2.
    await().atMost(WITHIN).until(() -> tombstoned("1", 2) && tombstoned("sku:S1", 2));
    assertThat(cdc.isLive()).isTrue();
  }

  @Test
  void aListenerKilledBetweenReceiveAndApplyMissesNothingAfterRestart() throws Exception {
    AtomicBoolean crash = new AtomicBoolean(false);
    CdcInvalidator first = startListener(new CdcHooks() {
      @Override
      public void beforeApply(java.util.List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        if (crash.get() && !invalidations.isEmpty()) {
          throw new IllegalStateException("simulated crash between receive and apply");
        }
      }
    });
    CacheAside<Long, Product> a = instance("a", CacheHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> a.get(1L, loader) != null
        && String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("V:1:"));

    crash.set(true);
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
    await().atMost(WITHIN).until(() -> first.failure() != null);
    assertThat(first.isLive()).isFalse();
    assertThat(redisCli.sync().get(namespace + ":1")).as("not applied before the crash").startsWith("V:1:");
    first.close();

    startListener(CdcHooks.NONE); // same state directory: resumes from the last acknowledged position
    await().atMost(WITHIN).until(() -> String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("P:2:"));
    assertThat(a.get(1L, loader).name()).isEqualTo("v2");
  }

  @Test
  void aChangedSkuInvalidatesTheOldAndTheNewKeyAndAPrimaryKeyChangeBothIds() throws Exception {
    startListener(CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'OLD', 'v1', 1)");
    redisCli.sync().set(namespace + ":sku:OLD", "V:1:{}");
    redisCli.sync().set(namespace + ":sku:NEW", "N:-1:");
    redisCli.sync().set(namespace + ":2", "N:-1:");
    sql("UPDATE " + table + " SET sku = 'NEW', version = 2 WHERE id = 1");
    await().atMost(WITHIN).until(() -> tombstoned("sku:OLD", 2) && tombstoned("sku:NEW", 2) && tombstoned("1", 2));

    redisCli.sync().set(namespace + ":1", "V:2:{}");
    sql("UPDATE " + table + " SET id = 2, version = 3 WHERE id = 1");
    await().atMost(WITHIN).until(() -> !String.valueOf(redisCli.sync().get(namespace + ":1")).startsWith("V:")
        && tombstoned("2", 3));
  }

  @Test
  void anInsertDropsACachedNotFound() throws Exception {
    startListener(CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a", CacheHooks.NONE);
    assertThat(a.get(9L, loader)).isNull();
    assertThat(redisCli.sync().get(namespace + ":9")).isEqualTo("N:-1:");
    sql("INSERT INTO " + table + " VALUES (9, 'S9', 'now here', 1)");
    await().atMost(WITHIN).until(() -> a.get(9L, loader) != null);
  }

  @Test
  void anAddedColumnMidStreamKeepsItWorking() throws Exception {
    CdcInvalidator cdc = startListener(CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    sql("ALTER TABLE " + table + " ADD COLUMN colour VARCHAR(20) NULL");
    sql("UPDATE " + table + " SET name = 'v2', colour = 'red', version = 2 WHERE id = 1");
    await().atMost(WITHIN).until(() -> tombstoned("1", 2));
    assertThat(cdc.isLive()).isTrue();
  }

  @Test
  void jdbcOffsetStorageWithoutADatabasePasswordIsRefused() {
    assertThatThrownBy(() -> options().offsetStorage(CdcOptions.OffsetStorage.JDBC).build())
        .hasMessageContaining("offsetStorage JDBC needs a database password");
  }

  @Test
  void aMappingThatNamesAMissingColumnFailsAtStartNamingTableAndField() {
    CdcOptions bad = options().mappings(InvalidationMappings.builder()
        .table(db.databaseName() + "." + table).namespace(namespace).key("{id}").key("ean:{ean}").add().build())
        .build();
    assertThatThrownBy(() -> CdcInvalidator.start(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("table " + db.databaseName() + "." + table)
        .hasMessageContaining("field 'keys' names column 'ean'");
    CdcOptions noTable = options().mappings(InvalidationMappings.builder()
        .table(db.databaseName() + ".no_such_table").namespace(namespace).key("{id}").add().build()).build();
    assertThatThrownBy(() -> CdcInvalidator.start(noTable))
        .hasMessageContaining("no_such_table: no such table");
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(CdcOptions.OffsetStorage.class)
  void aStoppedListenerResumesFromItsStoredPositionInEveryStorage(CdcOptions.OffsetStorage storage) throws Exception {
    // The embedded MariaDB runs without grant tables: any password is accepted, and JDBC storage requires one.
    String password = storage == CdcOptions.OffsetStorage.JDBC ? "any-password-skip-grant-tables" : db.password();
    CdcInvalidator first = CdcInvalidator.start(options().database(db.host(), db.port(), db.user(), password)
        .offsetStorage(storage).build());
    closeables.push(first);
    assertThat(first.awaitLive(Duration.ofSeconds(60))).isTrue();
    first.close();
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'written while no listener ran', 1)");
    redisCli.sync().set(namespace + ":1", "N:-1:");

    // A listener without a stored position would start from now and miss the insert.
    CdcInvalidator second = CdcInvalidator.start(options().database(db.host(), db.port(), db.user(), password)
        .offsetStorage(storage).build());
    closeables.push(second);
    assertThat(second.awaitLive(Duration.ofSeconds(60))).isTrue();
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    assertThat(counter("veracache.cdc.first.starts", "action", "flushed")).as("the second start found the position")
        .isZero();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(CdcOptions.OffsetStorage.class)
  void aPurgedPositionFlushesTheMappedNamespacesAndRestartsFromNowInEveryStorage(CdcOptions.OffsetStorage storage)
      throws Exception {
    String password = storage == CdcOptions.OffsetStorage.JDBC ? "any-password-skip-grant-tables" : db.password();
    CdcOptions.Builder options = options().database(db.host(), db.port(), db.user(), password).offsetStorage(storage);
    startListener(options, CdcHooks.NONE).close(); // leaves a stored position behind
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'changed while the listener was down', 2)");
    redisCli.sync().set(namespace + ":1", "V:1:{\"stale\":true}");
    purgeBinlogs();

    CdcInvalidator cdc = startListener(options, CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("namespace flushed").isNull();
    assertThat(registry.find("veracache.cdc.purged.positions").tag("action", "flushed").counter().count())
        .isEqualTo(1);
    sql("UPDATE " + table + " SET version = 3 WHERE id = 1");
    await().atMost(WITHIN).until(() -> tombstoned("1", 3));
    assertThat(cdc.isLive()).isTrue();
  }

  @Test
  void aPurgedPositionWithPolicyFailStopsLoudly() throws Exception {
    startListener(CdcHooks.NONE).close();
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'x', 1)");
    purgeBinlogs();

    CdcInvalidator cdc = CdcInvalidator.start(options()
        .purgedPositionPolicy(CdcOptions.PurgedPositionPolicy.FAIL).build());
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(30))).isFalse();
    assertThat(cdc.failure()).hasMessageContaining("stored binlog position purged");
    assertThat(cdc.status().state()).isEqualTo(CdcInvalidator.State.FAILED);
    assertThat(registry.find("veracache.cdc.purged.positions").tag("action", "failed").counter().count())
        .isEqualTo(1);
  }

  @Test
  void aBatchRedisKeepsRefusingMakesTheListenerStalledVisiblyAndItRecoversWhenRedisTakesIt() throws Exception {
    Duration threshold = Duration.ofMillis(500);
    CdcInvalidator cdc = startListener(options().stallThreshold(threshold), CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    assertThat(gauge("veracache.cdc.oldest.unapplied.age")).isZero();

    String policy = redisCli.sync().configGet("maxmemory-policy").get("maxmemory-policy");
    redisCli.sync().configSet("maxmemory-policy", "noeviction");
    redisCli.sync().configSet("maxmemory", "1"); // every script that writes now fails with OOM
    try {
      sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
      await().atMost(WITHIN).until(cdc::isStalled);
      double ageWhenStalled = gauge("veracache.cdc.oldest.unapplied.age");
      assertThat(ageWhenStalled).as("age of the refused change").isGreaterThanOrEqualTo((double) threshold.toMillis());
      await().atMost(WITHIN).until(() -> gauge("veracache.cdc.oldest.unapplied.age") > ageWhenStalled);
      assertThat(cdc.isLive()).as("a stalled listener is not live").isFalse();
      assertThat(cdc.status().state()).isEqualTo(CdcInvalidator.State.STALLED);
      assertThat(cdc.status().detail()).contains("out of memory");
      assertThat(gauge("veracache.cdc.live")).isZero();
      assertThat(gauge("veracache.cdc.stalled")).isEqualTo(1);
      assertThat(tombstoned("1", 2)).as("not applied while refused").isFalse();
      await().atMost(WITHIN).until(() -> logged(Level.ERROR, "stalled"));
    } finally {
      redisCli.sync().configSet("maxmemory", "0");
      redisCli.sync().configSet("maxmemory-policy", policy);
    }
    await().atMost(WITHIN).until(() -> tombstoned("1", 2) && tombstoned("sku:S1", 2));
    await().atMost(WITHIN).until(() -> cdc.isLive() && !cdc.isStalled());
    assertThat(cdc.status().state()).isEqualTo(CdcInvalidator.State.LIVE);
    assertThat(gauge("veracache.cdc.oldest.unapplied.age")).isZero();
    assertThat(gauge("veracache.cdc.stalled")).isZero();
    assertThat(counter("veracache.cdc.stalls")).isEqualTo(1);
    assertThat(logged(Level.INFO, "recovered")).isTrue();
  }

  @Test
  void aListenerStuckOnAProgressRecordWhileRedisIsDownIsStalledVisiblyThoughNoInvalidationWaits() throws Exception {
    // A batch with no invalidation (here the listener's own progress marker, written every progressInterval) is
    // acknowledged only after its progress record is in Redis. With Redis stopped the engine retries that record, and
    // every change behind it waits: that must read as STALLED, not LIVE.
    CdcInvalidator cdc = startListener(options().stallThreshold(Duration.ofMillis(300)), CdcHooks.NONE);
    double retriesBefore = counter("veracache.cdc.retries");
    redis.stop();
    try {
      await().atMost(WITHIN).until(() -> counter("veracache.cdc.retries") > retriesBefore);
      sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)"); // waits behind the progress record
      await().atMost(WITHIN).until(cdc::isStalled);
      assertThat(cdc.isLive()).as("a stalled listener is not live").isFalse();
      assertThat(cdc.status().state()).isEqualTo(CdcInvalidator.State.STALLED);
      assertThat(cdc.status().detail()).contains("Redis has refused the progress record");
      assertThat(gauge("veracache.cdc.stalled")).isEqualTo(1);
      assertThat(gauge("veracache.cdc.oldest.unapplied.age")).isGreaterThanOrEqualTo(300);
      await().atMost(WITHIN).until(() -> logged(Level.ERROR, "stalled"));
    } finally {
      redis.start();
    }
    await().atMost(WITHIN).until(() -> cdc.isLive() && tombstoned("1", 1));
    assertThat(counter("veracache.cdc.stalls")).isEqualTo(1);
    assertThat(logged(Level.INFO, "recovered")).isTrue();
  }

  @Test
  void aListenerStoppedAfterAPurgedPositionButBeforeTheFlushStillFlushesOnItsNextStart() throws Exception {
    startListener(CdcHooks.NONE).close(); // leaves a stored position behind
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'changed while the listener was down', 2)");
    redisCli.sync().set(namespace + ":1", "V:1:{\"stale\":true}");
    purgeBinlogs();

    CountDownLatch atFlush = new CountDownLatch(1);
    CdcInvalidator stopped = CdcInvalidator.start(options().build(), new CdcHooks() {
      @Override
      public void beforeFlush(java.util.List<String> namespaces) {
        atFlush.countDown();
        try {
          new CountDownLatch(1).await(); // until close() interrupts: the listener stops before it flushes
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    closeables.push(stopped);
    awaitLatch(atFlush);
    // The reset position was stored: on the next start nothing looks purged any more.
    await().atMost(WITHIN).until(this::storedPositionIsOnTheServer);
    stopped.close();
    assertThat(redisCli.sync().get(namespace + ":1")).as("stopped before the flush").startsWith("V:1:");

    startListener(CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("the owed flush was done on the next start").isNull();
  }

  @Test
  void aFlushHookThatThrowsFailsTheListenerAndTheFlushStaysOwed() throws Exception {
    redisCli.sync().set(namespace + ":1", "V:1:{\"cached before any listener ran\":true}");
    RuntimeException thrown = new IllegalStateException("the hook throws on purpose");
    CdcInvalidator failed = CdcInvalidator.start(options().build(), new CdcHooks() {
      @Override
      public void beforeFlush(java.util.List<String> namespaces) {
        throw thrown;
      }
    });
    closeables.push(failed);

    // Not left STARTING for ever: failed, with the hook's exception, and awaitLive says so.
    await().atMost(WITHIN).until(() -> failed.status().state() == CdcInvalidator.State.FAILED);
    assertThat(failed.failure()).isSameAs(thrown);
    assertThat(failed.awaitLive(Duration.ofSeconds(60))).isFalse();
    assertThat(redisCli.sync().get(namespace + ":1")).as("nothing flushed").startsWith("V:1:");
    failed.close();

    startListener(CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("the owed flush was done on the next start").isNull();
  }

  @Test
  void aFirstStartWithoutAStoredPositionFlushesTheMappedNamespacesUnlessToldItIsAFreshInstall() throws Exception {
    redisCli.sync().set(namespace + ":1", "V:1:{\"cached before any listener ran\":true}");
    CdcInvalidator fresh = startListener(options().firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL),
        CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("fresh install: nothing flushed").startsWith("V:1:");
    assertThat(counter("veracache.cdc.first.starts", "action", "assumed_fresh")).isEqualTo(1);
    fresh.close();

    stateDir = Files.createTempDirectory("veracache-cdc-test"); // a new state directory: no stored position
    closeables.push(ListenerFixture.deleting(stateDir));
    startListener(CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("flushed once live").isNull();
    assertThat(counter("veracache.cdc.first.starts", "action", "flushed")).isEqualTo(1);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(CdcOptions.OffsetStorage.class)
  void aLostStoredPositionIsTreatedAsAFirstStartInEveryStorage(CdcOptions.OffsetStorage storage) throws Exception {
    String password = storage == CdcOptions.OffsetStorage.JDBC ? "any-password-skip-grant-tables" : db.password();
    CdcOptions.Builder options = options().database(db.host(), db.port(), db.user(), password).offsetStorage(storage);
    startListener(options, CdcHooks.NONE).close();
    loseStoredPosition(storage);
    redisCli.sync().set(namespace + ":1", "V:1:{\"stale\":true}");

    startListener(options, CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("flushed once live").isNull();
    assertThat(counter("veracache.cdc.first.starts", "action", "flushed")).isEqualTo(1);
  }

  /**
   * A listener that crashed after its first offset flush (its start-up snapshot's offset) and before the next one (a
   * streaming position; up to offsetFlushInterval later) leaves an offset Debezium does not resume from: it snapshots
   * again at the current position and skips what changed since. That start owes the flush, whatever the first-start
   * policy: the earlier run may have been live. Found by CdcInvalidatorProcessIT when the flush interval became 1 s.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(CdcOptions.OffsetStorage.class)
  void aStoredStartUpSnapshotOffsetIsNoPositionSoTheNextStartFlushesInEveryStorage(CdcOptions.OffsetStorage storage)
      throws Exception {
    String password = storage == CdcOptions.OffsetStorage.JDBC ? "any-password-skip-grant-tables" : db.password();
    CdcOptions.Builder options = options().database(db.host(), db.port(), db.user(), password).offsetStorage(storage)
        .firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL);
    startListener(options, CdcHooks.NONE).close(); // a stored position and schema history
    leaveAStartUpSnapshotOffset(storage);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'written after that offset', 1)");
    redisCli.sync().set(namespace + ":1", "N:-1:"); // a cached not-found the insert must drop

    startListener(options, CdcHooks.NONE);
    assertThat(redisCli.sync().get(namespace + ":1")).as("flushed once live").isNull();
    assertThat(counter("veracache.cdc.first.starts", "action", "flushed")).isEqualTo(1);
    assertThat(logged(Level.WARN, "start-up snapshot")).isTrue();
  }

  /**
   * A fresh install is only fresh before its first run: a listener declared ASSUME_FRESH_INSTALL that stopped (a crash,
   * here a hook that throws) before it stored any position leaves none behind, and caches were filled while it ran.
   * Its next start must not take that as a fresh install again: Debezium snapshots at the current position and skips
   * the changes made since the first run started.
   */
  @Test
  void aFreshInstallThatStoppedBeforeItStoredAPositionIsNoFreshInstallOnItsNextStart() throws Exception {
    CdcOptions.Builder options = options().firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL);
    CountDownLatch atFirstBatch = new CountDownLatch(1);
    CountDownLatch crash = new CountDownLatch(1);
    RuntimeException crashed = new IllegalStateException("simulated crash before the first batch was acknowledged");
    CdcInvalidator first = CdcInvalidator.start(options.build(), new CdcHooks() {
      @Override
      public void beforeApply(java.util.List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        atFirstBatch.countDown();
        awaitLatch(crash);
        throw crashed;
      }
    });
    closeables.push(first);
    awaitLatch(atFirstBatch); // the engine took its snapshot and handed its first batch: it runs, caches fill
    redisCli.sync().set(namespace + ":1", "N:-1:"); // a not-found cached while the first run ran
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'written while the first run ran', 1)");
    crash.countDown();
    await().atMost(WITHIN).until(() -> first.failure() != null);
    first.close();
    assertThat(StoredPosition.fromFile(stateDir.resolve("offsets.dat"), "cdc-test-" + serverId))
        .as("nothing acknowledged, no position stored").isEmpty();

    startListener(options, CdcHooks.NONE);
    redisCli.sync().set(namespace + ":2", "N:-1:");
    sql("INSERT INTO " + table + " VALUES (2, 'S2', 'written after the restart', 1)");
    await().atMost(WITHIN).until(() -> !"N:-1:".equals(redisCli.sync().get(namespace + ":2"))); // it is past this
    assertThat(redisCli.sync().get(namespace + ":1")).as("the insert of the first run's time dropped its not-found")
        .isNotEqualTo("N:-1:");
  }

  /**
   * As {@link #aFreshInstallThatStoppedBeforeItStoredAPositionIsNoFreshInstallOnItsNextStart} in every storage: the
   * schema history that shows the earlier run is read from the store the engine wrote it to (a file, a Redis key, the
   * JDBC table). The JDBC history table is emptied first, so that the first run is a fresh install there too.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(CdcOptions.OffsetStorage.class)
  void aFreshInstallThatStoppedBeforeItStoredAPositionFlushesOnItsNextStartInEveryStorage(
      CdcOptions.OffsetStorage storage) throws Exception {
    if (storage == CdcOptions.OffsetStorage.JDBC) {
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS veracache_cdc_schema_history");
      }
    }
    String password = storage == CdcOptions.OffsetStorage.JDBC ? "any-password-skip-grant-tables" : db.password();
    CdcOptions.Builder options = options().database(db.host(), db.port(), db.user(), password).offsetStorage(storage)
        .firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL);
    CountDownLatch atFirstBatch = new CountDownLatch(1);
    CountDownLatch crash = new CountDownLatch(1);
    CdcInvalidator first = CdcInvalidator.start(options.build(), new CdcHooks() {
      @Override
      public void beforeApply(java.util.List<dev.veracache.internal.RedisInvalidator.KeyInvalidation> invalidations) {
        atFirstBatch.countDown();
        awaitLatch(crash);
        throw new IllegalStateException("simulated crash before the first batch was acknowledged");
      }
    });
    closeables.push(first);
    awaitLatch(atFirstBatch);
    assertThat(counter("veracache.cdc.first.starts", "action", "assumed_fresh")).as("the first run").isEqualTo(1);
    redisCli.sync().set(namespace + ":1", "N:-1:"); // a not-found cached while the first run ran
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'written while the first run ran', 1)");
    crash.countDown();
    await().atMost(WITHIN).until(() -> first.failure() != null);
    first.close();

    startListener(options, CdcHooks.NONE);
    redisCli.sync().set(namespace + ":2", "N:-1:");
    sql("INSERT INTO " + table + " VALUES (2, 'S2', 'written after the restart', 1)");
    await().atMost(WITHIN).until(() -> !"N:-1:".equals(redisCli.sync().get(namespace + ":2")));
    assertThat(redisCli.sync().get(namespace + ":1")).as("the insert of the first run's time dropped its not-found")
        .isNotEqualTo("N:-1:");
    assertThat(counter("veracache.cdc.first.starts", "action", "flushed")).isEqualTo(1);
  }

  @Test
  void theMetersFollowTheLiveListenerAndTwoLiveListenersCannotShareANameInOneRegistry() throws Exception {
    CdcInvalidator first = startListener(CdcHooks.NONE);
    assertThatThrownBy(() -> closeables.push(CdcInvalidator.start(options().serverId(serverId + 1000).build())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cdc-test-" + serverId)
        .hasMessageContaining("already");
    assertThat(first.isLive()).isTrue();
    assertThat(gauge("veracache.cdc.live")).isEqualTo(1);
    first.close();
    assertThat(registry.find("veracache.cdc.live").gauge()).as("meters removed on close").isNull();

    CdcInvalidator second = startListener(CdcHooks.NONE);
    assertThat(second.isLive()).isTrue();
    assertThat(gauge("veracache.cdc.live")).as("the live gauge reads the live listener").isEqualTo(1);
  }

  /**
   * Rotates the binlog and purges every file but the new one: a stopped listener's position is gone. MariaDB skips a
   * file a replication connection still reads, so this repeats until the server lists only the new file.
   */
  private void purgeBinlogs() throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("FLUSH BINARY LOGS");
      String current;
      try (ResultSet rs = s.executeQuery("SHOW MASTER STATUS")) {
        rs.next();
        current = rs.getString(1);
      }
      await().atMost(WITHIN).until(() -> {
        s.execute("PURGE BINARY LOGS TO '" + current + "'");
        try (ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
          return rs.next() && current.equals(rs.getString(1)) && !rs.next();
        }
      });
    }
  }

  private boolean tombstoned(String key, long version) {
    String raw = redisCli.sync().get(namespace + ":" + key);
    return raw != null && raw.matches("[TPD]:" + version + ":.*"); // a tombstone of any kind at that floor
  }

  private double gauge(String name) {
    var gauge = registry.find(name).gauge();
    return gauge == null ? Double.NaN : gauge.value();
  }

  private double counter(String name, String tag, String value) {
    var counter = registry.find(name).tag(tag, value).counter();
    return counter == null ? 0 : counter.count();
  }

  private boolean logged(Level level, String text) {
    return logs.list.stream().anyMatch(e -> e.getLevel() == level && e.getFormattedMessage().contains(text));
  }

  /** The FILE store names a binlog file the server still has. */
  private boolean storedPositionIsOnTheServer() throws Exception {
    java.util.Optional<String> file = StoredPosition.fromFile(stateDir.resolve("offsets.dat"), "cdc-test-" + serverId)
        .flatMap(StoredPosition::binlogFile);
    if (file.isEmpty()) {
      return false;
    }
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
      while (rs.next()) {
        if (rs.getString(1).equals(file.get())) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Turns the stored position into what a run that crashed between its first two offset flushes leaves: the offset
   * its start-up snapshot stored, which carries {@code "snapshot"} (Debezium 3.5 writes the snapshot kind).
   */
  private void leaveAStartUpSnapshotOffset(CdcOptions.OffsetStorage storage) throws Exception {
    String name = "cdc-test-" + serverId;
    java.util.function.UnaryOperator<String> asSnapshot = value -> {
      assertThat(value).startsWith("{").doesNotContain("\"snapshot\"");
      return "{\"snapshot\":\"INITIAL\"," + value.substring(1);
    };
    switch (storage) {
      case FILE -> {
        Path file = stateDir.resolve("offsets.dat");
        java.util.Map<byte[], byte[]> offsets;
        try (var in = new java.io.ObjectInputStream(Files.newInputStream(file))) {
          @SuppressWarnings("unchecked")
          java.util.Map<byte[], byte[]> read = (java.util.Map<byte[], byte[]>) in.readObject();
          offsets = read;
        }
        int changed = 0;
        for (var entry : offsets.entrySet()) {
          if (new String(entry.getKey(), java.nio.charset.StandardCharsets.UTF_8).startsWith("[\"" + name + "\"")) {
            entry.setValue(asSnapshot.apply(new String(entry.getValue(), java.nio.charset.StandardCharsets.UTF_8))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            changed++;
          }
        }
        assertThat(changed).isEqualTo(1);
        try (var out = new java.io.ObjectOutputStream(Files.newOutputStream(file))) {
          out.writeObject(offsets);
        }
        assertThat(StoredPosition.fromFile(file, name)).hasValueSatisfying(p -> assertThat(p.snapshotUnfinished())
            .as("read as a snapshot's offset").isTrue());
      }
      case REDIS -> {
        String key = "veracache:cdc:" + name + ":offsets";
        var fields = redisCli.sync().hgetall(key);
        assertThat(fields).hasSize(1);
        fields.forEach((field, value) -> redisCli.sync().hset(key, field, asSnapshot.apply(value)));
      }
      case JDBC -> {
        try (Connection c = db.connect();
             PreparedStatement read = c.prepareStatement("SELECT offset_key, offset_val FROM veracache_cdc_offsets "
                 + "WHERE offset_key LIKE ?");
             PreparedStatement write = c.prepareStatement("UPDATE veracache_cdc_offsets SET offset_val = ? "
                 + "WHERE offset_key = ? AND offset_val = ?")) {
          read.setString(1, "[\"" + name + "\",%");
          int changed = 0;
          try (ResultSet rs = read.executeQuery()) {
            while (rs.next()) {
              write.setString(1, asSnapshot.apply(rs.getString(2)));
              write.setString(2, rs.getString(1));
              write.setString(3, rs.getString(2));
              changed += write.executeUpdate();
            }
          }
          assertThat(changed).isPositive();
        }
      }
      default -> throw new IllegalArgumentException(storage.toString());
    }
  }

  /** What an evicted offset key, an emptied offsets table or a new state directory leaves: no stored position. */
  private void loseStoredPosition(CdcOptions.OffsetStorage storage) throws Exception {
    String name = "cdc-test-" + serverId;
    switch (storage) {
      case FILE -> Files.delete(stateDir.resolve("offsets.dat"));
      case REDIS -> assertThat(redisCli.sync().del("veracache:cdc:" + name + ":offsets")).isEqualTo(1);
      case JDBC -> sql("DELETE FROM veracache_cdc_offsets WHERE offset_key LIKE '[\"" + name + "\",%'");
      default -> throw new IllegalArgumentException(storage.toString());
    }
  }

  private double counter(String name) {
    var counter = registry.find(name).counter();
    return counter == null ? 0 : counter.count();
  }

  private Product find(long id) throws SQLException {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT id, sku, name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)) : null;
      }
    }
  }

  private void sql(String statement) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
