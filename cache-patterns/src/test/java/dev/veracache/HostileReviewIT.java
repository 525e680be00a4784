package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.RedisInvalidator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Holes found by a hostile review of the fence scripts and the listener signal, each pinned after its fix (every test
 * failed on the code it was written against). Each comment tells the interleaving as it broke before the fix. Races
 * are held at the library's own hook points (no sleeps); the only waits are for conditions.
 */
class HostileReviewIT extends RealServersTest {

  /**
   * R10 against write-through (no CDC needed, promise 3 "fenced fills"). put.lua over a lease-only record (T:-1:tok)
   * keeps the reader's lease and only raises the floor; fill.lua refuses a "not found" only under kind P, and the put
   * left kind T. So a "not found" read before the insert is stored after the insert's own set.
   *
   * <p>Interleaving: A misses, takes the lease, reads "no row", parks before its fill. B inserts the row (v1) and
   * puts it: put.lua turns T:-1:tokA into T:1:tokA (lease kept), returns 3. A's negative fill finds its token, kind T,
   * and stores N:-1: - a stale "not found" until negativeTtl (30 s).
   */
  @Test
  void aNotFoundLoadedBeforeAWriteThroughInsertIsNotCachedAfterTheInsert() throws Exception {
    Gate afterLoad = new Gate();
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> readerA = jvmA.cacheAside(productOptions().hooks(afterLoad.afterLoad()).build());
    TieredCache<Long, Product> writerB = jvmB.cache(productOptions().build());

    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> readerA.get(1L, loader()));
    afterLoad.awaitArrival(); // A holds the lease and has read "no row"
    Product inserted = products.insert(1, "v1");
    writerB.put(1L, inserted); // the writer's own set, after its commit
    // put.lua: an unproven set leaves a tombstone at its version and, standing for a committed write, cancels the
    // lease in place (token 0).
    assertThat(rawRecord(1)).as("the put left a tombstone at v1 and cancelled A's lease").isEqualTo("T:1:0:0");
    afterLoad.open();
    assertThat(slowRead.get(10, TimeUnit.SECONDS)).as("A answers what it read").isNull();

    Veracache jvmC = newInstance();
    CacheAside<Long, Product> readerC = jvmC.cacheAside(productOptions().build());
    assertThat(rawRecord(1)).as("A's \"not found\" fill was refused: the put's tombstone is still there")
        .isEqualTo("T:1:0:0");
    assertThat(readerC.get(1L, loader())).as("a read after the insert and its set").isEqualTo(inserted);
  }

  /**
   * Versions that restart on a re-insert (JPA @Version, the ProductTable here: every insert is version 1) meet a
   * "not found" that keeps the deleted floor. After a versioned delete at v2 (floor 3) a read caches N:3:. The row is
   * inserted again at v1 and put: put.lua sees N with floor 3, which "proves" the set older, and refuses it (0). The
   * "not found" stays until negativeTtl although the writer's own set just said the row exists (R10 via write-through).
   */
  @Test
  void aRowReinsertedBelowItsDeletedVersionIsNotHiddenBehindACachedNotFound() throws Exception {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    products.insert(1, "v1");
    Product v2 = products.update(1, "v2");
    assertThat(cache.get(1L, loader())).isEqualTo(v2);

    products.delete(1);
    cache.tiered().invalidateDeleted(1L, v2.version()); // the versioned delete the contract asks for (R13)
    assertThat(cache.get(1L, loader())).isNull();
    assertThat(rawRecord(1)).as("\"not found\" above the deleted version").isEqualTo("N:3:");

    Product again = products.insert(1, "inserted again"); // a new row: version 1 again
    cache.tiered().put(1L, again);

    Veracache other = newInstance();
    CacheAside<Long, Product> otherCache = other.cacheAside(productOptions().build());
    assertThat(otherCache.get(1L, loader())).as("the row exists again and its writer set it").isEqualTo(again);
  }

  /**
   * ListenerWatch takes "Redis clock against Redis clock" as clock-proof, but a progress field written by a primary
   * whose clock ran ahead (a failover or a restore onto a host whose clock is behind) is in the future for the new
   * primary: the poll computes staleness = max(0, now - safe) = 0 and trusts the namespace; publish.lua's "never go
   * back" guard then ignores the live listener's honest (lower) progress, and a dead listener is not noticed until
   * the new clock catches up. Here the field is written as the old primary would have left it, 10 minutes ahead.
   */
  @Test
  void progressStampedAheadOfRedisClockDoesNotKeepADeadListenersNamespaceTrusted() throws Exception {
    RedisInvalidator listener = RedisInvalidator.create(VeracacheOptions.builder(redisServer.uri()).build());
    closeLater(listener);
    Duration bound = Duration.ofMillis(500);
    Veracache jvm = newInstance(b -> b.heartbeatInterval(Duration.ofMillis(50)));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().listenerStalenessBound(bound).build());
    // The live listener publishes every 50 ms (as its markers come back), lag 0.
    AtomicLong sequence = new AtomicLong();
    ScheduledExecutorService alive = Executors.newSingleThreadScheduledExecutor();
    closeLater(alive::shutdownNow);
    Future<?> publishing = alive.scheduleWithFixedDelay(() -> {
      long last = sequence.get();
      listener.publishProgress("cdc", "i1", List.of(namespace), last, last + 1, 0);
      sequence.set(last + 1);
    }, 0, 50, TimeUnit.MILLISECONDS);
    // A failed publish ends the schedule: say so instead of timing out on the namespace never being trusted.
    await().atMost(Duration.ofSeconds(5)).failFast("the live listener's publishing failed",
        () -> assertThat(publishing).isNotDone()).until(() -> !jvm.listenerUntrusted(namespace));
    products.insert(1, "v1");
    await().atMost(Duration.ofSeconds(5)).until(() -> cache.get(1L, loader()) != null
        && String.valueOf(rawRecord(1)).startsWith("V:1:"));

    // The old primary's clock was 10 minutes ahead: that is the value its last publish left in the progress hash.
    alive.shutdown();
    assertThat(alive.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    redisCli.hset(FenceProtocol.PROGRESS_PREFIX + namespace, "cdc",
        Long.toString(redisNowMillis() + Duration.ofMinutes(10).toMillis()).getBytes(StandardCharsets.US_ASCII));
    // The listener dies now. A commit it never invalidates:
    products.update(1, "v2");
    long committedAt = redisNowMillis();
    // The honest listener would have said it is a minute behind before dying: the guard keeps the future value.
    assertThat(listener.publishProgress("cdc", "i1", List.of(namespace), sequence.get(), sequence.get() + 1, 60_000))
        .isEqualTo(RedisInvalidator.ProgressOutcome.PUBLISHED);

    await().atMost(Duration.ofSeconds(10)).until(() -> redisNowMillis() > committedAt + 4 * bound.toMillis());
    assertThat(jvm.listenerUntrusted(namespace))
        .as("no listener progress for 4x the bound: the namespace must not be trusted").isTrue();
    Veracache other = newInstance();
    CacheAside<Long, Product> otherCache = other.cacheAside(productOptions().listenerStalenessBound(bound).build());
    await().atMost(Duration.ofSeconds(5)).until(() -> other.listenerStaleness(namespace).isPresent());
    assertThat(otherCache.get(1L, loader()).name()).as("a read 4x the bound after the commit").isEqualTo("v2");
  }

  private long redisNowMillis() {
    List<byte[]> time = redisCli.time();
    return Long.parseLong(new String(time.get(0), StandardCharsets.US_ASCII)) * 1000
        + Long.parseLong(new String(time.get(1), StandardCharsets.US_ASCII)) / 1000;
  }
}
