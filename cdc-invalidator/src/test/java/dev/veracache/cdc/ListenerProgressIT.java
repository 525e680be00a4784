package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.internal.ReadinessProver;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The listener's progress signal end to end (R18: clients stop trusting a namespace whose listener stalls) and the
 * Redis data-loss check (R15: a Redis restarted from an older snapshot is found and flushed by the listener).
 */
class ListenerProgressIT extends ListenerFixture {

  /** A row of the test table. */
  public record Product(long id, String name, long version) {}

  private final CacheLoader<Long, Product> loader = id -> {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT id, name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3)) : null;
      }
    }
  };

  @BeforeEach
  void createTable() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private CdcOptions.Builder listenerOptions() {
    return options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build()).progressInterval(Duration.ofMillis(100));
  }

  private Veracache client(String name) {
    Veracache veracache = Veracache.create(VeracacheOptions.builder(redis.uri()).clientName(name)
        .heartbeatInterval(Duration.ofMillis(100)).meterRegistry(new SimpleMeterRegistry()).build());
    closeables.push(veracache);
    return veracache;
  }

  private CacheAside<Long, Product> cache(Veracache client, Duration bound) {
    return client.cacheAside(CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class))
        .version(Product::version).listenerStalenessBound(bound).build());
  }

  @Test
  void aLiveListenerKeepsItsNamespaceTrustedAndAStalledOneMakesClientsBypassRedis() throws Exception {
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean holdNext = new AtomicBoolean();
    startListener(listenerOptions().build(), new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        if (!invalidations.isEmpty() && holdNext.compareAndSet(true, false)) {
          held.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    });
    Veracache client = client("reader");
    // Without L1: this is about Redis. (The client keeps its own fill in L1, and an entry younger than the bound may be
    // served while the listener is behind, as promised.)
    CacheAside<Long, Product> products = client.cacheAside(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).version(Product::version).listenerStalenessBound(Duration.ofSeconds(1))
        .l1Enabled(false).build());
    await().atMost(WITHIN).until(() -> !client.listenerUntrusted(namespace));
    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");
    await().atMost(WITHIN).until(() -> products.get(1L, loader) != null);

    holdNext.set(true);
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1"); // its invalidation is held: a stall
    assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
    try {
      await().atMost(WITHIN).until(() -> client.listenerUntrusted(namespace));
      assertThat(products.get(1L, loader).name()).as("bypassing Redis, which still holds v1").isEqualTo("v2");
      assertThat(redisValue("1")).startsWith("V:1:");
    } finally {
      release.countDown();
    }
    await().atMost(WITHIN).until(() -> !client.listenerUntrusted(namespace));
    assertThat(products.get(1L, loader).name()).isEqualTo("v2");
    assertThat(counter("veracache.cdc.progress.published")).isPositive();
  }

  @Test
  void aRedisRestartedFromAnOlderSnapshotIsFlushedByTheListenerBeforeClientsTrustItAgain() throws Exception {
    startListener(listenerOptions().build(), CdcHooks.NONE);
    Veracache client = client("reader");
    CacheAside<Long, Product> products = cache(client, Duration.ofSeconds(1));
    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");
    await().atMost(WITHIN).until(() -> !client.listenerUntrusted(namespace) && products.get(1L, loader) != null
        && String.valueOf(redisValue("1")).startsWith("V:1:"));
    redisCli.sync().save(); // the snapshot holds v1

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
    await().atMost(WITHIN).until(() -> tombstoned("1", 2));
    redis.stop();
    redis.start(); // loads the snapshot: v1 is back, its invalidation gone

    await().atMost(WITHIN).until(() -> counter("veracache.cdc.redis.data.losses", "action", "flushed") == 1);
    await().atMost(WITHIN).until(() -> !String.valueOf(redisValue("1")).startsWith("V:1:"));
    await().atMost(WITHIN).until(() -> !client.listenerUntrusted(namespace));
    assertThat(products.get(1L, loader).name()).isEqualTo("v2");
  }

  @Test
  void redisDataLossPolicyFailStopsTheListenerSayingWhy() throws Exception {
    CdcInvalidator cdc = startListener(listenerOptions()
        .redisDataLossPolicy(CdcOptions.RedisDataLossPolicy.FAIL).build(), CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");
    await().atMost(WITHIN).until(() -> counter("veracache.cdc.progress.published") >= 2);

    redisCli.sync().flushall(); // the sequence key is gone with everything else

    await().atMost(WITHIN).until(() -> cdc.failure() != null);
    assertThat(cdc.failure().getMessage()).contains("Redis lost invalidations it had acknowledged");
    assertThat(counter("veracache.cdc.redis.data.losses", "action", "failed")).isEqualTo(1);
  }

  @Test
  void aListenerThatMustAwaitAReplicaDoesNotAcknowledgeWithoutOne() throws Exception {
    // No replica exists: the listener's own batches carry no invalidation until the insert, so it goes live.
    CdcInvalidator waiting = startListener(listenerOptions().redisDurability(1, false, Duration.ofMillis(100))
        .stallThreshold(Duration.ofMillis(500)).build(), CdcHooks.NONE);

    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");

    await().atMost(WITHIN).until(waiting::isStalled);
    assertThat(waiting.status().detail()).contains("only 0 of 1 Redis replicas acknowledged");
  }

  @Test
  void waitaofOnARedisWithoutItIsRefusedAtStartNamingTheOption() {
    assertThatThrownBy(() -> CdcInvalidator.start(listenerOptions().redisDurability(0, true, Duration.ofMillis(100))
        .build(), CdcHooks.NONE))
        .hasMessageContaining("redisDurability(appendOnlyFile = true) needs WAITAOF");
  }

  /**
   * The listener's progress timer fires now: the marker row it writes (same statement as CdcInvalidator.writeMarker).
   * The test decides when the timer fires instead of waiting for progressInterval, which is set far away.
   */
  private void progressTimerFires(String listener) throws Exception {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("REPLACE INTO " + ReadinessProver.MARKER_TABLE
             + " (listener, token) VALUES (?, ?)")) {
      ps.setString(1, listener);
      ps.setLong(2, System.currentTimeMillis());
      ps.executeUpdate();
    }
  }

  /**
   * R15: the data-loss check compares a sequence number that moves only when progress is published (a marker came
   * back), not when invalidations are applied. A Redis that loses only the invalidations applied since the last
   * publish (a snapshot taken after it, a failover to a replica a few ms behind, AOF everysec losing the last second:
   * the common case, a short tail) still holds the listener's last sequence number, so the next publish matches and
   * the loss is never detected: the old value is back for good, and clients that bound their staleness trust it.
   *
   * <p>Interleaving: publish (seq S) → v1 cached → snapshot (seq S, V:1) → UPDATE v2, its invalidation applied and
   * acknowledged (no marker in that batch, so seq stays S) → Redis restarts from the snapshot (V:1, seq S) → the
   * next marker's publish finds S = S: PUBLISHED, nothing flushed.
   */
  @Test
  void aRedisThatLostOnlyTheInvalidationsSinceTheLastPublishIsDetectedAndFlushed() throws Exception {
    CdcOptions options = options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build()).progressInterval(Duration.ofHours(1)).build();
    startListener(options, CdcHooks.NONE);
    String listenerName = "cdc-test-" + serverId;

    sql("INSERT INTO " + table + " VALUES (1, 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    double published = counter("veracache.cdc.progress.published");
    progressTimerFires(listenerName);
    await().atMost(WITHIN).until(() -> counter("veracache.cdc.progress.published") > published);

    Veracache plain = Veracache.create(VeracacheOptions.builder(redis.uri()).clientName("plain")
        .meterRegistry(new SimpleMeterRegistry()).build());
    closeables.push(plain);
    CacheAside<Long, Product> cache = plain.cacheAside(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).version(Product::version).build());
    assertThat(cache.get(1L, loader).name()).isEqualTo("v1");
    assertThat(redisValue("1")).startsWith("V:1:");
    redisCli.sync().save(); // the snapshot: the listener's last sequence number, and v1

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1");
    await().atMost(WITHIN).until(() -> tombstoned("1", 2)); // applied and acknowledged
    redis.stop();
    redis.start(); // back from the snapshot: v1 again, the listener's sequence number as it last wrote it

    double publishedBefore = counter("veracache.cdc.progress.published");
    progressTimerFires(listenerName); // the next publish is where the loss must be found
    await().atMost(WITHIN).until(() -> counter("veracache.cdc.progress.published") > publishedBefore);

    org.assertj.core.api.SoftAssertions.assertSoftly(soft -> {
      soft.assertThat(redisValue("1")).as("the restored old value is flushed with its namespace").isNull();
      soft.assertThat(counter("veracache.cdc.redis.data.losses", "action", "flushed"))
          .as("Redis lost an acknowledged invalidation").isEqualTo(1);
    });
  }
}
