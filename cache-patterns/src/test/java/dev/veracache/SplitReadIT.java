package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.testing.CacheHooks;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The read split in two calls ({@link TieredCache#beginRead}, then {@link SplitRead#fill}), as Spring's
 * {@code @Cacheable(sync = false)} makes it, keeps every fence of the one-call read; and
 * {@link TieredCache#invalidateAll} drops a cache's keys in every JVM. The interleavings are exact: the split itself
 * gives the test the point between the load and the fill.
 */
class SplitReadIT extends RealServersTest {

  @Test
  void aSplitFillIsRefusedWhenAnInvalidationCameBetweenTheLookupAndTheFill() throws Exception {
    products.insert(1, "v1");
    Veracache readerJvm = newInstance();
    Veracache writerJvm = newInstance();
    TieredCache<Long, Product> reader = readerJvm.cache(productOptions().build());
    TieredCache<Long, Product> writer = writerJvm.cache(productOptions().build());

    SplitRead<Product> read = reader.beginRead(1L);
    assertThat(read.found()).isFalse();
    Product loaded = products.find(1L); // the old row
    products.update(1, "v2");
    writer.invalidate(1L); // unversioned: only the lease fences the fill
    assertThat(read.fill(loaded)).as("a fill whose lease an invalidation cancelled").isFalse();

    assertThat(counter(readerJvm, "veracache.fills", "result", "refused_lease")).isEqualTo(1);
    assertThat(reader.get(1L, loader()).name()).isEqualTo("v2");
  }

  @Test
  void aSplitFillOlderThanTheTombstoneIsRefusedByTheVersionFence() throws Exception {
    Product v1 = products.insert(1, "v1");
    Veracache jvm = newInstance();
    TieredCache<Long, Product> cache = jvm.cache(productOptions().build());
    Product v2 = products.update(1, "v2");
    cache.invalidate(1L, v2.version());

    SplitRead<Product> read = cache.beginRead(1L); // takes the lease after the invalidation
    assertThat(read.fill(v1)).as("a fill from a replica that lags behind the tombstone").isFalse();
    assertThat(counter(jvm, "veracache.fills", "result", "refused_version")).isEqualTo(1);
  }

  @Test
  void aFilledSplitReadIsFoundByTheNextRead() throws Exception {
    products.insert(1, "v1");
    TieredCache<Long, Product> cache = newInstance().cache(productOptions().build());
    SplitRead<Product> miss = cache.beginRead(1L);
    assertThat(miss.fill(products.find(1L))).isTrue();
    assertThat(miss.fill(products.find(1L))).as("a second fill of one read").isFalse();

    SplitRead<Product> hit = cache.beginRead(1L);
    assertThat(hit.found()).isTrue();
    assertThat(hit.value().name()).isEqualTo("v1");
  }

  @Test
  void aNotFoundFillIsServedAsACachedNotFound() throws Exception {
    TieredCache<Long, Product> cache = newInstance().cache(productOptions().build());
    assertThat(cache.beginRead(7L).fill(null)).isTrue();
    SplitRead<Product> read = cache.beginRead(7L);
    assertThat(read.found()).isTrue();
    assertThat(read.value()).isNull();
  }

  @Test
  void aSecondReaderWaitsForTheLeaseHoldersFillAndIsServedIt() throws Exception {
    products.insert(1, "v1");
    CountDownLatch waiting = new CountDownLatch(1);
    CacheHooks signalWait = new CacheHooks() {
      @Override
      public void beforeLeaseWait(String redisKey) {
        waiting.countDown();
      }
    };
    TieredCache<Long, Product> first = newInstance().cache(productOptions().build());
    TieredCache<Long, Product> second = newInstance()
        .cache(productOptions().hooks(signalWait).leaseTtl(java.time.Duration.ofSeconds(30)).leaseWaitTimeout(java.time.Duration.ofSeconds(20)).build());

    SplitRead<Product> leaseHolder = first.beginRead(1L);
    CompletableFuture<SplitRead<Product>> waiter = CompletableFuture.supplyAsync(() -> second.beginRead(1L));
    assertThat(waiting.await(10, TimeUnit.SECONDS)).as("the second reader waits on the lease").isTrue();
    assertThat(leaseHolder.fill(products.find(1L))).isTrue();

    SplitRead<Product> served = waiter.get(10, TimeUnit.SECONDS);
    assertThat(served.found()).as("served the lease holder's fill, no load of its own").isTrue();
    assertThat(served.value().name()).isEqualTo("v1");
  }

  @Test
  void anAbandonedSplitReadGivesItsLeaseBackAtOnce() throws Exception {
    products.insert(1, "v1");
    TieredCache<Long, Product> cache = newInstance().cache(productOptions().build());
    SplitRead<Product> abandoned = cache.beginRead(1L);
    abandoned.abandon();

    SplitRead<Product> next = cache.beginRead(1L); // would wait leaseWaitTimeout and not fill if the lease were held
    assertThat(next.fill(products.find(1L))).isTrue();
    assertThat(abandoned.fill(products.find(1L))).as("an abandoned read fills nothing").isFalse();
  }

  @Test
  void invalidateAllDropsEveryKeyOfTheCacheFromRedisAndFromEveryInstancesL1() throws Exception {
    products.insert(1, "v1");
    products.insert(2, "w1");
    Veracache readerJvm = newInstance();
    Veracache clearingJvm = newInstance();
    CacheAside<Long, Product> reader = readerJvm.cacheAside(productOptions().build());
    CacheAside<Long, Product> clearing = clearingJvm.cacheAside(productOptions().build());
    warmL1(readerJvm, reader, 1, loader());
    warmL1(readerJvm, reader, 2, loader());
    warmL1(clearingJvm, clearing, 1, loader());
    redisCli.set("other-" + namespace + ":1", "V:-1:x".getBytes(java.nio.charset.StandardCharsets.UTF_8));

    products.update(1, "v2");
    products.update(2, "w2"); // behind the caches' back: only the clear can make them read it
    clearing.tiered().invalidateAll();

    assertThat(rawRecord(1)).isNull();
    assertThat(rawRecord(2)).isNull();
    assertThat(redisCli.get("other-" + namespace + ":1")).as("a key outside the namespace").isNotNull();
    assertThat(inL1(clearing, 1)).as("the clearing instance's own L1 (its deletes are not pushed to it)").isFalse();
    readerJvm.awaitPushesSoFar();
    assertThat(inL1(reader, 1)).isFalse();
    assertThat(inL1(reader, 2)).isFalse();
    assertThat(reader.get(1L, loader()).name()).isEqualTo("v2");
    assertThat(reader.get(2L, loader()).name()).isEqualTo("w2");
    assertThat(clearing.get(1L, loader()).name()).isEqualTo("v2");
  }

  @Test
  void invalidateAllCancelsAFillInFlight() throws Exception {
    products.insert(1, "v1");
    TieredCache<Long, Product> cache = newInstance().cache(productOptions().build());
    SplitRead<Product> read = cache.beginRead(1L);
    Product old = products.find(1L);
    products.update(1, "v2");
    cache.invalidateAll();
    assertThat(read.fill(old)).as("a fill whose lease went with the cleared record").isFalse();
    assertThat(cache.get(1L, loader()).name()).isEqualTo("v2");
  }
}
