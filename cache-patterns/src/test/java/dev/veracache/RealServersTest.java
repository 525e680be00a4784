package dev.veracache;

import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Base of the tests that run against the embedded MariaDB and Redis. Each {@link #newInstance} is a separate client
 * (its own Lettuce connection, L1 and meter registry), standing for a separate JVM. Each test gets its own namespace
 * and table.
 */
@ExtendWith(EmbeddedStackExtension.class)
abstract class RealServersTest {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  RedisServer redisServer;
  DatabaseServer db;
  String namespace;
  ProductTable products;
  /** A plain Redis client, standing for redis-cli or any other writer outside Veracache. */
  RedisCommands<String, byte[]> redisCli;

  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  private final IdentityHashMap<Veracache, MeterRegistry> registries = new IdentityHashMap<>();

  @BeforeEach
  void startFixture(RedisServer redisServer, DatabaseServer db, TestInfo info) throws SQLException {
    this.redisServer = redisServer;
    this.db = db;
    this.namespace = "t" + SEQUENCE.incrementAndGet();
    this.products = new ProductTable(db, "product_" + namespace);
    RedisClient client = RedisClient.create(redisServer.uri());
    StatefulRedisConnection<String, byte[]> connection =
        client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    closeables.push(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    closeables.push(connection);
    this.redisCli = connection.sync();
  }

  @AfterEach
  void closeFixture() throws Exception {
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  /** A new client standing for one JVM, with test-friendly timeouts. */
  Veracache newInstance() {
    return newInstance(b -> {});
  }

  Veracache newInstance(Consumer<VeracacheOptions.Builder> customizer) {
    return newInstance(redisServer.uri(), customizer);
  }

  /** A client of the Redis at {@code redisUri} (for example with a user and password in it). */
  Veracache newInstance(String redisUri, Consumer<VeracacheOptions.Builder> customizer) {
    return newInstance(VeracacheOptions.builder(redisUri), customizer);
  }

  /** A client of a Redis Cluster, given its seed URIs. */
  Veracache newClusterInstance(java.util.List<String> seedUris, Consumer<VeracacheOptions.Builder> customizer) {
    return newInstance(VeracacheOptions.clusterBuilder(seedUris), customizer);
  }

  private Veracache newInstance(VeracacheOptions.Builder builder, Consumer<VeracacheOptions.Builder> customizer) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    builder
        .commandTimeout(Duration.ofMillis(300))
        .circuitBreaker(BreakerSettings.builder().failureRatePercent(50).minimumCalls(2).windowSize(4)
            .openDuration(Duration.ofMillis(300)).build())
        .meterRegistry(registry);
    customizer.accept(builder);
    Veracache veracache = Veracache.create(builder.build());
    closeables.push(veracache);
    registries.put(veracache, registry);
    return veracache;
  }

  void closeLater(AutoCloseable closeable) {
    closeables.push(closeable);
  }

  /** A DataSource of the embedded database, as an application would configure one. */
  static javax.sql.DataSource dataSource(DatabaseServer db) {
    com.mysql.cj.jdbc.MysqlDataSource ds = new com.mysql.cj.jdbc.MysqlDataSource();
    ds.setURL(db.jdbcUrl());
    ds.setUser(db.user());
    ds.setPassword(db.password());
    return ds;
  }

  CacheOptions.Builder<Long, Product> productOptions() {
    return CacheOptions.<Long, Product>builder(namespace, ValueCodec.json(Product.class)).version(Product::version);
  }

  CacheLoader<Long, Product> loader() {
    return products::find;
  }

  /** The write-through writer of the test's table: an update (the value's name) or a delete. */
  CacheWriter<Long, Product> productWriter() {
    return new CacheWriter<>() {
      @Override
      public Product write(Long id, Product value) throws Exception {
        return products.update(id, value.name());
      }

      @Override
      public void delete(Long id) throws Exception {
        products.delete(id);
      }
    };
  }

  String redisKey(long id) {
    return namespace + ":" + id;
  }

  /** What Redis holds for the key, as text (the record header shows the kind and version), or null. */
  String rawRecord(long id) {
    byte[] raw = redisCli.get(redisKey(id));
    return raw == null ? null : new String(raw, java.nio.charset.StandardCharsets.UTF_8);
  }

  static boolean inL1(CacheAside<Long, ?> cache, long id) {
    return ((DefaultTieredCache<Long, ?>) cache.tiered()).inL1(id);
  }

  /**
   * Reads a key until it sits in this instance's L1: the first read fills Redis; once the push of that fill has come
   * back (Redis 6.2 and 7.0 push our own script writes back to us despite NOLOOP), the second read, an L2 hit, puts it
   * in L1.
   */
  <V> void warmL1(Veracache jvm, CacheAside<Long, V> cache, long id, CacheLoader<Long, V> loader) {
    cache.get(id, loader);
    jvm.awaitPushesSoFar();
    cache.get(id, loader);
    org.assertj.core.api.Assertions.assertThat(inL1(cache, id)).as("in L1 after warming").isTrue();
  }

  /**
   * Reads {@code id} on a new thread ("held-l1-hit") that {@code holdOnFirstTickerRead} marks before it starts, so that
   * the client's ticker parks it on its first clock read (inside Caffeine's {@code getIfPresent}, right after it took
   * the L1 value); completes with the read's answer or failure once the test releases it.
   */
  <V> CompletableFuture<V> startHeldRead(CacheAside<Long, V> cache, long id, CacheLoader<Long, V> loader,
      Consumer<Thread> holdOnFirstTickerRead) {
    CompletableFuture<V> held = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        held.complete(cache.get(id, loader));
      } catch (Throwable t) {
        held.completeExceptionally(t);
      }
    }, "held-l1-hit");
    holdOnFirstTickerRead.accept(reader);
    reader.start();
    return held;
  }

  /** Every {@code veracache.l1.invalidations} counter of the instance, by its source tag: for failure messages. */
  String l1InvalidationsBySource(Veracache instance) {
    return registries.get(instance).find("veracache.l1.invalidations").counters().stream()
        .map(c -> c.getId().getTag("source") + "=" + c.count()).sorted().toList().toString();
  }

  double counter(Veracache instance, String name, String... tags) {
    var counter = registries.get(instance).find(name).tags(tags).counter();
    if (counter != null) {
      return counter.count();
    }
    var functionCounter = registries.get(instance).find(name).tags(tags).functionCounter();
    if (functionCounter != null) {
      return functionCounter.count();
    }
    var timer = registries.get(instance).find(name).tags(tags).timer();
    return timer == null ? 0 : timer.count();
  }
}
