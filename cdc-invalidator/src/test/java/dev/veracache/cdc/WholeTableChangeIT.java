package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.testing.CacheHooks;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TRUNCATE, DROP and RENAME of a mapped table change every row without a row event: the listener flushes the table's
 * namespace (Redis and, through tracking, every instance's L1) in binlog order, or stops loudly under policy FAIL.
 */
class WholeTableChangeIT extends ListenerFixture {

  /** A row of the test table. */
  public record Product(long id, String sku, String name, long version) {}

  @BeforeEach
  void createProductTable() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, sku VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
        + "NOT NULL, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private CdcOptions.Builder productOptions() {
    return options(InvalidationMappings.builder().table(qualified()).namespace(namespace)
        .key("{id}").key("sku:{sku}").version("version").add().build());
  }

  private CacheAside<Long, Product> instance(String name) {
    Veracache veracache = Veracache.create(VeracacheOptions.builder(redis.uri()).clientName(name)
        .meterRegistry(new SimpleMeterRegistry()).build());
    closeables.push(veracache);
    return veracache.cacheAside(CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class))
        .version(Product::version).hooks(CacheHooks.NONE).build());
  }

  /** Reads the row; a table that is gone has no rows. */
  private final CacheLoader<Long, Product> loader = id -> {
    try (Connection c = db.connect();
         PreparedStatement ps = c.prepareStatement("SELECT id, sku, name, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)) : null;
      }
    } catch (SQLException e) {
      if (e.getErrorCode() == 1146) { // ER_NO_SUCH_TABLE
        return null;
      }
      throw e;
    }
  };

  /** Row 1 is cached in L2 and in the instance's L1. */
  private void cacheRowOne(CacheAside<Long, Product> instance) throws Exception {
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    assertThat(instance.get(1L, loader).name()).isEqualTo("v1");
    assertThat(instance.get(1L, loader).name()).isEqualTo("v1");
    assertThat(redisValue("1")).startsWith("V:1:");
  }

  /** The flush reached Redis (every key of the namespace is gone) and the instance's L1. */
  private void awaitFlushed(CacheAside<Long, Product> instance) {
    await().atMost(WITHIN).until(() -> redisValue("1") == null && redisValue("unrelated") == null);
    await().atMost(WITHIN).until(() -> instance.get(1L, loader) == null);
  }

  private double tableChanges(String reason, String action) {
    return counter("veracache.cdc.table.changes", "table", qualified(), "reason", reason, "action", action);
  }

  @Test
  void truncateOfAMappedTableFlushesItsNamespaceFromRedisAndL1() throws Exception {
    redisCli.sync().set(namespace + ":before-start", "V:1:{}");
    // A fresh install: the first-start flush would hide whether the start-up snapshot's schema events flush anything.
    startListener(productOptions().firstStart(CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL).build(), CdcHooks.NONE);
    assertThat(redisValue("before-start")).as("the start-up snapshot's schema events flush nothing")
        .isEqualTo("V:1:{}");
    CacheAside<Long, Product> a = instance("a");
    cacheRowOne(a);
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

    sql("TRUNCATE TABLE " + table);

    awaitFlushed(a);
    assertThat(tableChanges("truncate", "flushed")).isEqualTo(1);
  }

  @Test
  void dropTableOfAMappedTableFlushesItsNamespaceFromRedisAndL1() throws Exception {
    startListener(productOptions().build(), CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a");
    cacheRowOne(a);
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

    sql("DROP TABLE " + table);

    awaitFlushed(a);
    assertThat(tableChanges("drop", "flushed")).isEqualTo(1);
  }

  @Test
  void dropDatabaseOfAMappedTableFlushesItsNamespace() throws Exception {
    String database = "h1_dropped_" + table;
    sql("CREATE DATABASE " + database, "CREATE TABLE " + database + ".product (id BIGINT PRIMARY KEY, "
        + "version BIGINT NOT NULL)");
    try {
      startListener(options(InvalidationMappings.builder().table(database + ".product").namespace(namespace)
          .key("{id}").version("version").add().build()).build(), CdcHooks.NONE);
      sql("INSERT INTO " + database + ".product VALUES (1, 1)");
      await().atMost(WITHIN).until(() -> tombstoned("1", 1));
      redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

      sql("DROP DATABASE " + database);

      await().atMost(WITHIN).until(() -> redisValue("1") == null && redisValue("unrelated") == null);
      assertThat(counter("veracache.cdc.table.changes", "table", database + ".product", "reason", "drop",
          "action", "flushed")).isEqualTo(1);
    } finally {
      sql("DROP DATABASE IF EXISTS " + database);
    }
  }

  @Test
  void renamingAMappedTableAwayOrAnotherTableOntoItFlushesItsNamespace() throws Exception {
    startListener(productOptions().build(), CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a");
    cacheRowOne(a);
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

    // An online schema change's cut-over: the mapped name now holds another table's rows.
    sql("CREATE TABLE " + table + "_new LIKE " + table,
        "RENAME TABLE " + table + " TO " + table + "_old, " + table + "_new TO " + table);
    awaitFlushed(a);
    assertThat(tableChanges("rename", "flushed")).isGreaterThanOrEqualTo(1);

    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");
    double before = tableChanges("rename", "flushed");
    sql("ALTER TABLE " + table + " RENAME TO " + table + "_moved");
    await().atMost(WITHIN).until(() -> redisValue("unrelated") == null);
    assertThat(tableChanges("rename", "flushed")).isEqualTo(before + 1);
  }

  @Test
  void createOrReplaceOfAMappedTableFlushesItsNamespace() throws Exception {
    startListener(productOptions().build(), CdcHooks.NONE);
    CacheAside<Long, Product> a = instance("a");
    cacheRowOne(a);
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

    sql("CREATE OR REPLACE TABLE " + table + " (id BIGINT PRIMARY KEY, sku VARCHAR(40) CHARACTER SET utf8mb4 "
        + "COLLATE utf8mb4_bin NOT NULL, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");

    awaitFlushed(a);
    assertThat(tableChanges("create", "flushed") + tableChanges("drop", "flushed")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void partitionClausesThatRemoveRowsFlushTheNamespaceAndAReorganisationDoesNot() throws Exception {
    String partitioned = table + "_p";
    sql("CREATE TABLE " + partitioned + " (id BIGINT PRIMARY KEY, version BIGINT NOT NULL) PARTITION BY RANGE (id) "
        + "(PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN MAXVALUE)");
    startListener(options(InvalidationMappings.builder().table(db.databaseName() + "." + partitioned)
        .namespace(namespace).key("{id}").version("version").add().build()).build(), CdcHooks.NONE);
    sql("INSERT INTO " + partitioned + " VALUES (1, 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");

    sql("ALTER TABLE " + partitioned + " TRUNCATE PARTITION p0"); // row 1 is gone, no row event says so
    await().atMost(WITHIN).until(() -> redisValue("1") == null && redisValue("unrelated") == null);
    assertThat(counter("veracache.cdc.table.changes", "table", db.databaseName() + "." + partitioned,
        "reason", "partition", "action", "flushed")).isEqualTo(1);

    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");
    sql("ALTER TABLE " + partitioned + " REORGANIZE PARTITION p1 INTO (PARTITION p1 VALUES LESS THAN (200), "
        + "PARTITION p2 VALUES LESS THAN MAXVALUE)", "INSERT INTO " + partitioned + " VALUES (2, 1)");
    await().atMost(WITHIN).until(() -> tombstoned("2", 1)); // the listener is past the reorganisation
    assertThat(redisValue("unrelated")).as("rows kept: nothing flushed").isEqualTo("V:7:{}");
  }

  @Test
  void anAlterThatKeepsTheRowsFlushesNothing() throws Exception {
    startListener(productOptions().build(), CdcHooks.NONE);
    redisCli.sync().set(namespace + ":unrelated", "V:7:{}");
    sql("ALTER TABLE " + table + " ADD COLUMN colour VARCHAR(20) NULL",
        "ALTER TABLE " + table + " RENAME COLUMN colour TO color",
        "INSERT INTO " + table + " (id, sku, name, version) VALUES (2, 'S2', 'after the alter', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("2", 1)); // the listener is past both ALTERs
    assertThat(redisValue("unrelated")).isEqualTo("V:7:{}");
    assertThat(registry.find("veracache.cdc.table.changes").counters()).isEmpty();
  }

  @Test
  void aWholeTableChangeIsFlushedInBinlogOrder() throws Exception {
    List<String> steps = new CopyOnWriteArrayList<>();
    startListener(productOptions().build(), new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        invalidations.forEach(i -> steps.add("apply " + i.key() + "@" + i.version()));
      }

      @Override
      public void beforeFlush(String table, String reason, String namespace) {
        steps.add("flush " + reason);
      }
    });
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1",
        "TRUNCATE TABLE " + table,
        "INSERT INTO " + table + " VALUES (1, 'S1', 'v5', 5)");

    await().atMost(WITHIN).until(() -> steps.contains("apply 1@5"));
    assertThat(steps).containsSubsequence("apply 1@2", "flush truncate", "apply 1@5");
    assertThat(steps.indexOf("flush truncate")).isLessThan(steps.indexOf("apply 1@5"))
        .isGreaterThan(steps.indexOf("apply 1@2"));
    // The insert after the TRUNCATE landed after the flush: its tombstone is there.
    await().atMost(WITHIN).until(() -> tombstoned("1", 5));
  }

  @Test
  void aFlushIsAcknowledgedOnlyAfterItLandedSoACrashBeforeItFlushesAfterRestart() throws Exception {
    AtomicBoolean crashed = new AtomicBoolean();
    CdcInvalidator first = startListener(productOptions().build(), new CdcHooks() {
      @Override
      public void beforeFlush(String table, String reason, String namespace) {
        crashed.set(true);
        throw new IllegalStateException("simulated crash between receiving the TRUNCATE and flushing");
      }
    });
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    redisCli.sync().set(namespace + ":1", "V:1:{}");

    sql("TRUNCATE TABLE " + table);
    await().atMost(WITHIN).until(() -> first.failure() != null);
    assertThat(crashed).isTrue();
    assertThat(redisValue("1")).as("not flushed before the crash").isEqualTo("V:1:{}");
    first.close();

    startListener(productOptions().build(), CdcHooks.NONE); // same state directory: replays the TRUNCATE
    await().atMost(WITHIN).until(() -> redisValue("1") == null);
  }

  @Test
  void aTruncateWhileRedisIsPausedFlushesAfterItResumes() throws Exception {
    startListener(productOptions().build(), CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));

    redis.pause();
    try {
      sql("TRUNCATE TABLE " + table);
      await().atMost(WITHIN).until(() -> counter("veracache.cdc.retries") >= 2);
      assertThat(tableChanges("truncate", "flushed")).isZero();
    } finally {
      redis.resume();
    }
    await().atMost(WITHIN).until(() -> redisValue("1") == null);
    await().atMost(WITHIN).until(() -> tableChanges("truncate", "flushed") == 1);
  }

  @Test
  void aWholeTableChangeUnderPolicyFailStopsTheListenerNamingTableAndStatement() throws Exception {
    CdcInvalidator cdc = startListener(productOptions()
        .wholeTableChangePolicy(CdcOptions.WholeTableChangePolicy.FAIL).build(), CdcHooks.NONE);
    sql("INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));

    sql("TRUNCATE TABLE " + table);

    await().atMost(WITHIN).until(() -> cdc.failure() != null);
    assertThat(cdc.failure().getMessage()).contains(qualified()).contains("TRUNCATE TABLE " + qualified())
        .contains("policy FAIL");
    assertThat(cdc.isLive()).isFalse();
    assertThat(tableChanges("truncate", "failed")).isEqualTo(1);
    assertThat(redisValue("1")).as("nothing flushed: the insert's tombstone is still there").isEqualTo("P:1:0:0");
  }
}
