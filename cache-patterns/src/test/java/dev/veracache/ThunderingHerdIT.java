package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.baseline.NaiveCacheAside;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Race R9: concurrent misses of one key in different JVMs run one load; waiting is bounded. */
class ThunderingHerdIT extends RealServersTest {

  @Test
  void naiveCacheAsideLoadsOncePerConcurrentMiss() throws Exception {
    products.insert(1, "hot");
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch allLoading = new CountDownLatch(3);
    CacheLoader<String, Product> loader = id -> {
      loads.incrementAndGet();
      allLoading.countDown();
      // Every miss reaches the database: all three are inside the loader at once.
      if (!allLoading.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("the misses did not all reach the database");
      }
      return products.find(id);
    };
    List<NaiveCacheAside<Product>> jvms = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      NaiveCacheAside<Product> naive = new NaiveCacheAside<>(redisServer.uri(), namespace,
          ValueCodec.json(Product.class), Duration.ofMinutes(1), CacheHooks.NONE);
      closeLater(naive);
      jvms.add(naive);
    }
    List<CompletableFuture<Product>> reads = jvms.stream()
        .map(naive -> CompletableFuture.supplyAsync(() -> StaleFillRaceIT.call(() -> naive.get("1", loader))))
        .toList();
    for (CompletableFuture<Product> read : reads) {
      assertThat(read.get(10, TimeUnit.SECONDS).name()).isEqualTo("hot");
    }
    assertThat(loads).as("naive: one database load per concurrent miss").hasValue(3);
  }

  @Test
  void concurrentMissesInThreeInstancesRunOneLoad() throws Exception {
    products.insert(1, "hot");
    AtomicInteger loads = new AtomicInteger();
    Gate insideLoad = new Gate();
    CacheLoader<Long, Product> slowLoader = id -> {
      loads.incrementAndGet();
      insideLoad.hold();
      return products.find(id);
    };
    CountDownLatch waiting = new CountDownLatch(2);
    CacheHooks countWaiters = new CacheHooks() {
      @Override
      public void beforeLeaseWait(String redisKey) {
        waiting.countDown();
      }
    };
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    Veracache jvmC = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().hooks(countWaiters).build());
    CacheAside<Long, Product> c = jvmC.cacheAside(productOptions().hooks(countWaiters).build());

    CompletableFuture<Product> first = CompletableFuture.supplyAsync(() -> a.get(1L, slowLoader));
    insideLoad.awaitArrival();
    CompletableFuture<Product> second = CompletableFuture.supplyAsync(() -> b.get(1L, slowLoader));
    CompletableFuture<Product> third = CompletableFuture.supplyAsync(() -> c.get(1L, slowLoader));
    assertThat(waiting.await(10, TimeUnit.SECONDS)).as("B and C wait for A's lease").isTrue();
    insideLoad.open();

    assertThat(first.get(10, TimeUnit.SECONDS).name()).isEqualTo("hot");
    assertThat(second.get(10, TimeUnit.SECONDS).name()).isEqualTo("hot");
    assertThat(third.get(10, TimeUnit.SECONDS).name()).isEqualTo("hot");
    assertThat(loads).hasValue(1);
    assertThat(counter(jvmB, "veracache.lease.waits", "outcome", "value")).isEqualTo(1);
    assertThat(counter(jvmC, "veracache.lease.waits", "outcome", "value")).isEqualTo(1);
  }

  @Test
  void aWaiterGivesUpAfterLeaseWaitTimeoutAndLoadsWithoutFilling() throws Exception {
    products.insert(1, "hot");
    AtomicInteger loads = new AtomicInteger();
    Gate insideLoad = new Gate();
    CacheLoader<Long, Product> loader = id -> {
      loads.incrementAndGet();
      insideLoad.hold(); // only the first call is held
      return products.find(id);
    };
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().leaseWaitTimeout(Duration.ofMillis(150)).build());

    CompletableFuture<Product> holder = CompletableFuture.supplyAsync(() -> a.get(1L, loader));
    insideLoad.awaitArrival();
    assertThat(b.get(1L, loader).name()).isEqualTo("hot");
    assertThat(loads).hasValue(2);
    assertThat(counter(jvmB, "veracache.lease.waits", "outcome", "timeout")).isEqualTo(1);
    assertThat(counter(jvmB, "veracache.fills", "result", "stored")).isZero();
    assertThat(rawRecord(1)).as("still A's lease").startsWith("T:-1:");

    insideLoad.open();
    holder.get(10, TimeUnit.SECONDS);
    assertThat(rawRecord(1)).startsWith("V:1:");
  }

  @Test
  void aFailingLoaderReleasesItsLeaseSoWaitersDoNotWaitForNothing() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    CacheLoader<Long, Product> broken = id -> {
      throw new java.sql.SQLException("db gone");
    };
    assertThatThrownBy(() -> cache.get(1L, broken))
        .isInstanceOf(CacheLoaderException.class)
        .hasMessageContaining(namespace + ":1")
        .hasMessageContaining("db gone");
    assertThat(rawRecord(1)).as("lease released").isNull();
  }
}
