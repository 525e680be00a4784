package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.spring.shop.Product;
import dev.veracache.spring.shop.ProductService;
import dev.veracache.spring.shop.ShopApplication;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two application contexts on the embedded MariaDB and Redis stand for two instances of one Spring Boot service using
 * the starter; a CDC listener follows the binlog. What a service gets from its unchanged cache annotations: rows
 * changed behind its back are served new by both instances, a miss storm from both loads once, and the stale-fill
 * race R1 through {@code @Cacheable} is refused by the fence.
 */
@ExtendWith(EmbeddedStackExtension.class)
class TwoInstancesIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private DatabaseServer db;
  private RedisServer redis;
  private String table;
  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();

  @BeforeEach
  void setUp(DatabaseServer db, RedisServer redis) throws Exception {
    this.db = db;
    this.redis = redis;
    this.table = "shop_product_" + SEQUENCE.incrementAndGet() + "_" + ProcessHandle.current().pid();
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(64), version BIGINT NOT NULL)",
        "INSERT INTO " + table + " VALUES (1, 'v1', 1), (2, 'w1', 1)");
  }

  @AfterEach
  void tearDown() throws Exception {
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  @Test
  void aRowChangedByPlainJdbcIsServedNewByBothInstancesOnceTheListenerInvalidatedIt() throws Exception {
    startListener();
    ProductService first = service(startInstance("first"));
    ProductService second = service(startInstance("second"));
    for (ProductService instance : List.of(first, second, first, second)) {
      assertThat(instance.find(1).name()).isEqualTo("v1"); // cached, and in each L1 by the second read
    }

    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1"); // behind the service's back

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(first.find(1).name()).isEqualTo("v2");
      assertThat(second.find(1).name()).isEqualTo("v2");
    });
  }

  @Test
  void aMissStormFromBothInstancesRunsTheSyncMethodOnce() throws Exception {
    ProductService first = service(startInstance("first"));
    ProductService second = service(startInstance("second"));
    CountDownLatch arrived = first.holdNextLoadAfterRead();
    CompletableFuture<Product> leader = CompletableFuture.supplyAsync(() -> first.findSync(2));
    assertThat(arrived.await(10, TimeUnit.SECONDS)).as("the first load is under way").isTrue();
    List<CompletableFuture<Product>> storm = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ProductService instance = i % 2 == 0 ? first : second;
      storm.add(CompletableFuture.supplyAsync(() -> instance.findSync(2)));
    }
    first.releaseHeldLoad();

    assertThat(leader.get(20, TimeUnit.SECONDS).name()).isEqualTo("w1");
    for (CompletableFuture<Product> read : storm) {
      assertThat(read.get(20, TimeUnit.SECONDS).name()).isEqualTo("w1");
    }
    assertThat(first.loads() + second.loads()).as("loads of one key by a storm from two instances")
        .isEqualTo(1);
  }

  @Test
  void theStaleFillRaceThroughCacheableIsRefusedByTheFence() throws Exception {
    ConfigurableApplicationContext readerContext = startInstance("reader");
    ProductService reader = service(readerContext);
    ProductService writer = service(startInstance("writer"));
    CountDownLatch arrived = reader.holdNextLoadAfterRead();
    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> reader.find(1)); // sync = false
    assertThat(arrived.await(10, TimeUnit.SECONDS)).as("the reader read v1 and is parked before its put").isTrue();

    writer.rename(1, "v2"); // commit, then @CachePut (a versioned set: the key holds the reader's lease)
    writer.evict(1); // and an @CacheEvict, as a service without CDC would do after a write
    reader.releaseHeldLoad();
    assertThat(slowRead.get(20, TimeUnit.SECONDS).name()).as("the slow reader's own answer").isEqualTo("v1");

    assertThat(fillsRefused(readerContext)).as("the reader's fill of v1, refused").isEqualTo(1);
    assertThat(reader.find(1).name()).isEqualTo("v2");
    assertThat(writer.find(1).name()).isEqualTo("v2");
  }

  @Test
  void evictAllEntriesDropsTheCacheInBothInstances() throws Exception {
    ProductService first = service(startInstance("first"));
    ProductService second = service(startInstance("second"));
    for (ProductService instance : List.of(first, second, first, second)) {
      instance.find(1);
      instance.find(2);
    }
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1",
        "UPDATE " + table + " SET name = 'w2', version = 2 WHERE id = 2"); // no listener: only the clear tells
    first.evictAll();

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> { // the other instance's L1: by a tracking push
      assertThat(second.find(1).name()).isEqualTo("v2");
      assertThat(second.find(2).name()).isEqualTo("w2");
    });
    assertThat(first.find(1).name()).isEqualTo("v2");
  }

  @Test
  void theInspectorCountsAStaleReadOfARowChangedBehindTheCachesBack() throws Exception {
    ConfigurableApplicationContext context = startInstance("inspected", "veracache.inspector.sample-rate=1",
        "veracache.inspector.window=200ms");
    ProductService service = service(context);
    dev.veracache.ConsistencyInspector inspector = context.getBean(dev.veracache.Veracache.class).inspector();
    service.findSync(1);
    sql("UPDATE " + table + " SET name = 'v2', version = 2 WHERE id = 1"); // no listener, no evict: a lost one
    assertThat(service.findSync(1).name()).as("served from the cache").isEqualTo("v1");

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(inspector.stale()).isEqualTo(1));
    assertThat(inspector.sampled()).isEqualTo(1);
  }

  @Test
  void aCachedMethodThatThrowsLeavesNoReadOpenOnItsThread() {
    ConfigurableApplicationContext context = startInstance("marked");
    assertThat(context.getBean(org.springframework.cache.interceptor.BeanFactoryCacheOperationSourceAdvisor.class)
        .getAdvice()).as("each cached call is marked").isInstanceOf(dev.veracache.spring.cache.OpenReadScope.class);
    ProductService service = service(context);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> service.findOrFail(999))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(dev.veracache.spring.cache.SpringCalls.openOnThisThread())
        .as("the miss's lease, given back when the call threw").isZero();
  }

  private double fillsRefused(ConfigurableApplicationContext context) {
    MeterRegistry registry = context.getBean(dev.veracache.Veracache.class).options().meterRegistry();
    return registry.find("veracache.fills").tag("result", "refused_lease").counters().stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
  }

  private ConfigurableApplicationContext startInstance(String name, String... moreProperties) {
    ConfigurableApplicationContext context = new SpringApplicationBuilder(ShopApplication.class)
        .web(WebApplicationType.NONE)
        .properties(moreProperties)
        .properties("veracache.redis.uri=" + redis.uri(), "veracache.redis.client-name=" + name,
            "veracache.caches.products.namespace=" + table, "veracache.caches.products.version-property=version",
            "veracache.caches.products.lease-wait-timeout=5s",
            "veracache.caches.productsSync.namespace=" + table + "_sync",
            "veracache.caches.productsSync.lease-wait-timeout=5s",
            "shop.jdbc-url=" + db.jdbcUrl(), "shop.user=" + db.user(), "shop.password=" + db.password(),
            "shop.table=" + table, "spring.main.banner-mode=off")
        .run();
    closeables.push(context);
    return context;
  }

  private static ProductService service(ConfigurableApplicationContext context) {
    return context.getBean(ProductService.class);
  }

  private void startListener() throws Exception {
    Path state = Files.createTempDirectory("veracache-starter-cdc");
    CdcInvalidator cdc = CdcInvalidator.start(CdcOptions.builder()
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(7300 + SEQUENCE.incrementAndGet())
        .name("starter-test-" + table)
        .redis(VeracacheOptions.builder(redis.uri()).clientName("cdc").build())
        .mappings(InvalidationMappings.builder()
            .table(db.databaseName() + "." + table).namespace(table).key("{id}").version("version").add().build())
        .stateDirectory(state)
        .build(), dev.veracache.cdc.testing.CdcHooks.NONE);
    closeables.push(cdc);
    assertThat(cdc.awaitLive(Duration.ofSeconds(60))).as("listener live").isTrue();
  }

  private void sql(String... statements) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }
}
