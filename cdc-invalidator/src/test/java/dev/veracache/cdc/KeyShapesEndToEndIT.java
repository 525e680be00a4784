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
 * A row cached under two keys, as the mapping {@code keys: ["{id}", "sku:{sku}"]} invites: two typed caches over one
 * namespace in one client, {@code CacheAside<Long, Item>} by id ({@code ns:42}) and {@code CacheAside<String, Item>}
 * by SKU ({@code keyPrefix("sku:")}, {@code ns:sku:AB-1}). A change of the row in the database, made by plain SQL,
 * drops both from Redis and from the client's L1.
 */
class KeyShapesEndToEndIT extends ListenerFixture {

  /** A row of the test table. */
  public record Item(long id, String sku, String name, long version) {}

  private final SimpleMeterRegistry clientMeters = new SimpleMeterRegistry();

  @BeforeEach
  void createTable() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, sku VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
        + "NOT NULL UNIQUE, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private Item select(String column, Object value) throws Exception {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(
        "SELECT id, sku, name, version FROM " + table + " WHERE " + column + " = ?")) {
      ps.setObject(1, value);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Item(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)) : null;
      }
    }
  }

  private final CacheLoader<Long, Item> byIdLoader = id -> select("id", id);
  private final CacheLoader<String, Item> bySkuLoader = sku -> select("sku", sku);

  private double l1Hits() {
    var hits = clientMeters.find("veracache.gets").tags("cache", namespace, "level", "l1", "result", "hit")
        .functionCounter();
    return hits == null ? 0 : hits.count();
  }

  /** Reads until a read is answered by L1 (the first fill's own push evicts it; the next read puts it back). */
  private <K> void warmL1(CacheAside<K, Item> cache, K key, CacheLoader<K, Item> loader) {
    await().atMost(WITHIN).until(() -> {
      double before = l1Hits();
      cache.get(key, loader);
      return l1Hits() > before;
    });
  }

  @Test
  void aChangeOfTheRowInvalidatesBothTypedCachesOfItsNamespaceInL2AndL1() throws Exception {
    startListener(options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .key("sku:{sku}").version("version").add().build()).build(), recording);
    Veracache client = Veracache.create(VeracacheOptions.builder(redis.uri()).clientName("app")
        .meterRegistry(clientMeters).build());
    closeables.push(client);
    CacheAside<Long, Item> byId = client.cacheAside(CacheOptions.<Long, Item>builder(namespace,
        ValueCodec.json(Item.class)).version(Item::version).l1Ttl(Duration.ofMinutes(5)).build());
    CacheAside<String, Item> bySku = client.cacheAside(CacheOptions.<String, Item>builder(namespace,
        ValueCodec.json(Item.class)).version(Item::version).l1Ttl(Duration.ofMinutes(5)).keyPrefix("sku:").build());

    sql("INSERT INTO " + table + " VALUES (42, 'AB-1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("42", 1) && tombstoned("sku:AB-1", 1)); // the insert's own event
    warmL1(byId, 42L, byIdLoader);
    warmL1(bySku, "AB-1", bySkuLoader);
    assertThat(redisValue("42")).as("by-id key in Redis").startsWith("V:1:");
    assertThat(redisValue("sku:AB-1")).as("by-SKU key in Redis, as the mapping renders it").startsWith("V:1:");

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 42");
    await("both Redis keys invalidated by the listener").atMost(WITHIN)
        .until(() -> tombstoned("42", 2) && tombstoned("sku:AB-1", 2));
    // L1 entries live 5 minutes: only the listener's invalidation, pushed to this client, can drop them in time.
    await("both typed caches read the new row").atMost(WITHIN)
        .until(() -> byId.get(42L, byIdLoader).name().equals("v2") && bySku.get("AB-1", bySkuLoader).name()
            .equals("v2"));
  }
}
