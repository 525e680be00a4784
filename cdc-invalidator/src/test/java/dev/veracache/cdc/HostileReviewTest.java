package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Holes found by a hostile review of the listener's progress signal and Redis data-loss check, pinned after the fix
 * (each failed on the code it was written against; the comments tell the interleaving as it broke).
 */
class HostileReviewTest extends ListenerFixture {

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

  /**
   * The listener's progress timer fires now: the marker row it writes (same statement as CdcInvalidator.writeMarker).
   * The test decides when the timer fires instead of waiting for progressInterval, which is set far away.
   */
  private void progressTimerFires(String listener) throws Exception {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("REPLACE INTO " + CdcInvalidator.MARKER_TABLE
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
    startListener(options, recording);
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
      soft.assertThat(String.valueOf(redisValue("1"))).as("the lost invalidation's value must not stay")
          .doesNotStartWith("V:1:");
      soft.assertThat(counter("veracache.cdc.redis.data.losses", "action", "flushed"))
          .as("Redis lost an acknowledged invalidation").isEqualTo(1);
    });
  }
}
