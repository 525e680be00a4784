package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.veracache.spring.cache.SpringCalls;
import dev.veracache.spring.shop.Product;
import dev.veracache.spring.shop.ShopApplication;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Hostile review of the Spring cache adapter. Each test drives {@code VeracacheSpringCache} with exactly the
 * calls Spring's {@code CacheAspectSupport} makes ({@code get(key)} on a {@code @Cacheable} miss, then
 * {@code put(key, result)} unless {@code unless} vetoes it or the method throws; {@code put} alone for
 * {@code @CachePut}; {@code evict} for {@code @CacheEvict}), each "thread" being a single-thread executor, so every
 * interleaving is fixed by the order of the calls, never by timing. Values stand for database rows: {@code v1} was read
 * before the commit of {@code v2}. The caches are unversioned ({@code @CachePut} is then an invalidation). Calls are
 * marked as {@code OpenReadScope} marks each cached method call around Spring's interceptor ({@link SpringCalls}).
 */
@ExtendWith(EmbeddedStackExtension.class)
class SpringCacheReviewIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final Product V1 = new Product(1, "v1", 1);
  private static final Product V2 = new Product(1, "v2", 2);

  private ConfigurableApplicationContext context;
  private Cache cache;
  private final List<ExecutorService> threads = new ArrayList<>();

  @BeforeEach
  void setUp(RedisServer redis) {
    String namespace = "review_" + SEQUENCE.incrementAndGet() + "_" + ProcessHandle.current().pid();
    context = new SpringApplicationBuilder(ShopApplication.class)
        .web(WebApplicationType.NONE)
        .properties("veracache.redis.uri=" + redis.uri(), "veracache.redis.client-name=review",
            "veracache.caches.plain.namespace=" + namespace,
            // short, so that a read that waits on a lease nobody will fill ends quickly; no assertion depends on it
            "veracache.caches.plain.lease-wait-timeout=200ms",
            "shop.jdbc-url=jdbc:mariadb://127.0.0.1:1/unused", "shop.user=unused", "shop.table=unused",
            "spring.main.banner-mode=off")
        .run();
    cache = context.getBean(CacheManager.class).getCache("plain");
  }

  @AfterEach
  void tearDown() {
    threads.forEach(ExecutorService::shutdownNow);
    context.close();
  }

  /**
   * A {@code @Cacheable} miss whose method threw (or whose result {@code unless} vetoed) leaves its read open on the
   * pooled thread. The same thread later serves a request that commits v2 and runs {@code @CachePut}: that put takes
   * the stale open read and tries to fill under its lease (cancelled meanwhile), which Redis refuses, and it does not
   * invalidate. A reader that took the key's lease after the cancellation and read v1 before the commit then fills v1,
   * which nothing removes (without CDC: until the TTL; with CDC: until the listener catches up). A {@code @CachePut}
   * on a thread without that leftover read would have invalidated, cancelling the reader's lease.
   */
  @Test
  void aCachePutOnAThreadWithALeftoverMissStillInvalidates() throws Exception {
    ExecutorService pooled = thread();
    ExecutorService reader = thread();
    assertThat(on(pooled, () -> inOneCall(() -> cache.get(1L))))
        .as("the first request's @Cacheable miss; its method throws").isNull();

    cache.evict(1L); // any invalidation of the key (an @CacheEvict elsewhere, or CDC of an earlier write)
    long readerCall = on(reader, SpringCalls::begin);
    assertThat(on(reader, () -> cache.get(1L))).as("a reader's miss; it takes the lease and reads v1").isNull();

    // The database now holds v2; the pooled thread's next request runs @CachePut(key = 1) with v2.
    on(pooled, () -> inOneCall(() -> {
      cache.put(1L, V2);
      return null;
    }));
    on(reader, () -> {
      cache.put(1L, V1); // the reader's @Cacheable put of what it read before the commit
      SpringCalls.end(readerCall);
      return null;
    });

    Cache.ValueWrapper served = on(thread(), () -> cache.get(1L));
    assertThat(served == null ? null : served.get())
        .as("after @CachePut(v2) returned, the cache must not serve the older v1").isNotEqualTo(V1);
  }

  /**
   * Nested {@code @Cacheable} of one cache and key on one thread: the outer miss took lease L1 and read v1; v2 is
   * committed and evicted (cancelling L1); the inner {@code @Cacheable} (same key) then takes a new lease L2 and its
   * method throws (caught by the outer) or {@code unless} vetoes its result. The outer put of v1, read before the
   * commit, then fills under L2, which no invalidation cancelled: v1 is cached after the eviction of v2 (R1).
   */
  @Test
  void anOuterPutNeverFillsUnderTheLeaseOfANestedRead() throws Exception {
    ExecutorService t = thread();
    long outerCall = on(t, SpringCalls::begin);
    assertThat(on(t, () -> cache.get(1L))).as("outer @Cacheable miss; its method reads v1").isNull();

    cache.evict(1L); // v2 committed, then @CacheEvict (or CDC)
    long timeoutsBefore = leaseWaitTimeouts();
    assertThat(on(t, () -> inOneCall(() -> cache.get(1L))))
        .as("inner @Cacheable of the same key: a miss; it throws").isNull();
    assertThat(leaseWaitTimeouts() - timeoutsBefore).as("the inner call waited on its outer call's lease").isZero();
    on(t, () -> {
      cache.put(1L, V1); // the outer method returns what it read before the commit
      SpringCalls.end(outerCall);
      return null;
    });

    Cache.ValueWrapper served = on(thread(), () -> cache.get(1L));
    assertThat(served == null ? null : served.get()).as("v1 was read before the eviction of v2").isNotEqualTo(V1);
  }

  /**
   * {@code putIfAbsent(key, value)} takes a fresh lease and fills the caller's value under it, although the value was
   * computed before the lease (and before any invalidation since): the value read before v2's commit is cached after
   * v2's eviction, the stale fill R1 that the fence exists to refuse.
   */
  @Test
  void putIfAbsentNeverCachesAValueReadBeforeAnInvalidation() throws Exception {
    Product readEarlier = V1; // read from the database before v2 was committed
    cache.evict(1L); // v2 committed, then @CacheEvict (or CDC)

    assertThat(on(thread(), () -> cache.putIfAbsent(1L, readEarlier))).as("nothing cached").isNull();

    Cache.ValueWrapper served = on(thread(), () -> cache.get(1L));
    assertThat(served == null ? null : served.get()).as("v1 was read before the eviction of v2").isNotEqualTo(V1);
  }

  /**
   * {@code @Cacheable(unless = "#result == null")} (or a method that throws) leaves the miss's lease held for all of
   * {@code lease-ttl}: every other reader of the key, in every instance, waits {@code lease-wait-timeout} and then
   * loads without filling, so the key cannot be cached until the lease expires. Here a second reader's put after such
   * a vetoed miss caches nothing.
   */
  @Test
  void aVetoedPutDoesNotKeepOtherReadersFromCachingTheKey() throws Exception {
    assertThat(on(thread(), () -> inOneCall(() -> cache.get(2L))))
        .as("a miss whose result unless vetoes: no put").isNull();

    ExecutorService other = thread();
    on(other, () -> inOneCall(() -> {
      assertThat(cache.get(2L)).as("another request's miss").isNull();
      cache.put(2L, new Product(2, "w1", 1));
      return null;
    }));

    assertThat(on(thread(), () -> cache.get(2L))).as("the second reader's result, cached").isNotNull();
  }

  /**
   * The same vetoed miss, then the same thread reads the key again: it waits on its own lease for all of
   * {@code lease-wait-timeout} (recorded as a lease wait that timed out) before it abandons it.
   */
  @Test
  void aThreadNeverWaitsOnItsOwnLeftoverLease() throws Exception {
    ExecutorService t = thread();
    assertThat(on(t, () -> cache.get(3L))).as("a miss whose result unless vetoes: no put").isNull();
    long timeoutsBefore = leaseWaitTimeouts();

    on(t, () -> cache.get(3L)); // the thread's next request reads the key again

    assertThat(leaseWaitTimeouts() - timeoutsBefore).as("lease waits that timed out on the thread's own lease")
        .isZero();
  }

  /**
   * Spring 6.1+ calls {@code Cache.retrieve(key)} for a {@code @Cacheable} method returning a
   * {@code CompletableFuture} (or a reactive type); the adapter does not implement it, so every such method fails
   * with {@code UnsupportedOperationException} once caching is on.
   */
  @Test
  void aCacheableMethodReturningACompletableFutureCanBeCached() {
    assertThatCode(() -> cache.retrieve(4L)).doesNotThrowAnyException();
  }

  private long leaseWaitTimeouts() {
    MeterRegistry registry = context.getBean(dev.veracache.Veracache.class).options().meterRegistry();
    return registry.find("veracache.lease.waits").tag("outcome", "timeout").timers().stream()
        .mapToLong(Timer::count).sum();
  }

  /** One cached method call, marked as Spring's cache interceptor marks it (see OpenReadScope). */
  private static <T> T inOneCall(Callable<T> call) throws Exception {
    long outer = SpringCalls.begin();
    try {
      return call.call();
    } finally {
      SpringCalls.end(outer);
    }
  }

  private ExecutorService thread() {
    ExecutorService executor = Executors.newSingleThreadExecutor();
    threads.add(executor);
    return executor;
  }

  private static <T> T on(ExecutorService thread, Callable<T> call) throws Exception {
    return thread.submit(call).get(30, TimeUnit.SECONDS);
  }
}
