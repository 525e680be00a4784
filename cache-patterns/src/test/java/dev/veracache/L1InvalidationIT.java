package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.baseline.NaiveTwoLevelCache;
import dev.veracache.testing.CacheHooks;
import io.lettuce.core.KillArgs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** Every instance's L1 drops a key that anyone changes in Redis; race R7; lost connections. */
class L1InvalidationIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(5);

  @Test
  void anotherInstancesInvalidationDropsThisInstancesL1() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    warmL1(jvmA, a, 1L, loader());
    // The warm-up's second read may be an L1 hit already (the re-read after its own fill's push can come first).
    double hitsBefore = counter(jvmA, "veracache.gets", "level", "l1", "result", "hit");
    a.get(1L, loader());
    assertThat(counter(jvmA, "veracache.gets", "level", "l1", "result", "hit")).isEqualTo(hitsBefore + 1);

    Product v2 = products.update(1, "v2");
    b.invalidate(1L, v2.version());
    await().atMost(WITHIN).until(() -> !inL1(a, 1L));
    assertThat(a.get(1L, loader())).isEqualTo(v2);
  }

  @Test
  void aReadThatStartsAfterInvalidateReturnedDoesNotJoinAnOlderLoad() throws Exception {
    products.insert(1, "v1");
    Gate beforeFill = new Gate();
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().hooks(beforeFill.afterLoad()).build());
    java.util.concurrent.CompletableFuture<Product> slowRead =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> cache.get(1L, loader()));
    beforeFill.awaitArrival(); // that load read v1 and is parked before its fill

    Product v2 = products.update(1, "v2");
    cache.invalidate(1L, v2.version());
    java.util.concurrent.CompletableFuture<Product> laterRead =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> cache.get(1L, loader()));

    try {
      assertThat(laterRead.get(10, TimeUnit.SECONDS)).as("read-your-writes in one JVM").isEqualTo(v2);
    } finally {
      beforeFill.open();
    }
    assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).as("the older read's own answer").isEqualTo("v1");
    assertThat(cache.get(1L, loader())).isEqualTo(v2);
  }

  @Test
  void aChangeByAPlainRedisClientDropsL1() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 2L, id -> new Product(id, "x", 1));

    redisCli.del(redisKey(2));
    await().atMost(WITHIN).until(() -> !inL1(cache, 2L));
  }

  @Test
  void flushAllClearsL1() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 3L, id -> new Product(id, "x", 1));

    redisCli.flushall();
    await().atMost(WITHIN).until(() -> !inL1(cache, 3L));
  }

  @Test
  void naiveL1KeepsTheOldValueWhenTheInvalidationOvertakesTheGetReply() throws Exception {
    JsonMapper json = JsonMapper.builder().build();
    redisCli.set(redisKey(1), json.writeValueAsBytes(new Product(1, "v1", 1)));
    CountDownLatch invalidationApplied = new CountDownLatch(1);
    AtomicBoolean first = new AtomicBoolean(true);
    CacheHooks hooks = new CacheHooks() {
      @Override
      public void afterRedisRead(String redisKey) {
        if (first.getAndSet(false)) {
          // Another writer changes the key after our GET was answered, before we put the answer in L1.
          redisCli.set(redisKey, json.writeValueAsBytes(new Product(1, "v2", 2)));
          awaitLatch(invalidationApplied);
        }
      }
    };
    try (NaiveTwoLevelCache<Product> naive = new NaiveTwoLevelCache<>(redisServer.uri(), namespace,
        ValueCodec.json(Product.class), hooks)) {
      naive.onInvalidation(key -> invalidationApplied.countDown());
      naive.get("1");

      assertThat(naive.get("1").name()).as("naive L1 after the race").isEqualTo("v1");
      assertThat(new String(redisCli.get(redisKey(1)), StandardCharsets.UTF_8)).contains("v2");
    }
  }

  @Test
  void fencedL1RefusesAnAnswerThatAnInvalidationOvertook() throws Exception {
    products.insert(1, "v1");
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    b.get(1L, loader()); // L2 now holds v1
    AtomicBoolean first = new AtomicBoolean(true);
    Veracache[] jvmA = new Veracache[1];
    CacheHooks hooks = new CacheHooks() {
      @Override
      public void afterRedisRead(String redisKey) {
        if (first.getAndSet(false)) {
          try {
            Product v2 = products.update(1, "v2");
            b.invalidate(1L, v2.version());
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
          await().atMost(WITHIN).until(() ->
              counter(jvmA[0], "veracache.l1.invalidations", "source", "push") >= 1);
        }
      }
    };
    jvmA[0] = newInstance();
    CacheAside<Long, Product> a = jvmA[0].cacheAside(productOptions().hooks(hooks).build());

    assertThat(a.get(1L, loader()).name()).as("the read that started before the write").isEqualTo("v1");
    assertThat(inL1(a, 1L)).as("stale answer kept out of L1").isFalse();
    assertThat(counter(jvmA[0], "veracache.l1.fills", "result", "refused_invalidated"))
        .as("the refusal is counted").isEqualTo(1);
    assertThat(a.get(1L, loader()).name()).isEqualTo("v2");
    assertThat(counter(jvmA[0], "veracache.l1.fills", "result", "refused_invalidated")).isEqualTo(1);
  }

  @Test
  void aLostConnectionClearsL1AndTrackingComesBack() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 4L, id -> new Product(id, "x", 1));

    redisCli.clientKill(KillArgs.Builder.typeNormal().skipme(true));
    await().atMost(WITHIN).until(() -> !inL1(cache, 4L) && !jvm.degraded());
    assertThat(counter(jvm, "veracache.l1.invalidations", "source", "recovery")).isGreaterThanOrEqualTo(1);

    // Tracking is on again on the new connection: a change is still seen.
    warmL1(jvm, cache, 5L, id -> new Product(id, "y", 1));
    redisCli.del(redisKey(5));
    await().atMost(WITHIN).until(() -> !inL1(cache, 5L));
  }

  @Test
  void noL1EntryOutlivesL1TtlEvenWithoutAnyInvalidation() {
    FakeTicker clock = new FakeTicker(); // L1 ages by the client's ticker: the test moves time instead of waiting
    Veracache jvm = newInstance(b -> b.ticker(clock));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().l1Ttl(Duration.ofMinutes(1)).build());
    warmL1(jvm, cache, 6L, id -> new Product(id, "x", 1));

    clock.advance(Duration.ofSeconds(59));
    assertThat(inL1(cache, 6L)).as("younger than l1Ttl").isTrue();
    clock.advance(Duration.ofSeconds(2));
    assertThat(inL1(cache, 6L)).as("older than l1Ttl").isFalse();
    assertThat(rawRecord(6)).as("still in Redis: only L1 expired").startsWith("V:1:");
  }

  static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(5, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
