package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While degraded (R5) an answer stored in L1 is aged from when its read began: {@code L1Store} keeps that time in a side
 * cache ({@code readStarts}) bounded by {@code l1MaximumSize}, and an entry without a read start there is aged by
 * Caffeine from its store instead. Found by a hostile review of "an answer is aged from its read": the side cache
 * evicts by size on its own (W-TinyLFU), while the value stays in L1; it also keeps the read starts of every "not found"
 * and of entries L1 has already dropped, so it fills up before L1 does. Once a slow load's read start is evicted, its
 * answer is aged from its store again, and served for up to {@code degradedL1Ttl} after the limit counted from its read.
 *
 * <p>Deterministic: the order of Caffeine's admission is fixed by the keys' hashes and the accesses below, and the test
 * waits for Caffeine's maintenance (run on the common pool) to finish before each step that depends on it. A new read
 * start (accessed once) that leaves the admission window loses against any resident read start accessed at least as
 * often, so the slow load's read start is the one evicted.
 */
class EvictedReadStartIT extends RealServersTest {

  private static final Duration DEGRADED_TTL = Duration.ofSeconds(10);
  private static final int L1_SIZE = 10;

  @Test
  void anAnswerReadLongerAgoThanDegradedL1TtlIsNotServedOnceItsReadStartIsEvictedBySize() throws Exception {
    products.insert(1, "v1");
    FakeTicker clock = new FakeTicker();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(DEGRADED_TTL).ticker(clock));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().l1MaximumSize(L1_SIZE).build()); // negatives on

    redisServer.stop();
    try {
      await().atMost(Duration.ofSeconds(10)).until(jvm::degraded);

      // Rows that do not exist: each degraded miss keeps a "not found" in L1 and a read start beside it. Nine, then a
      // tenth: both maps are then exactly full, nothing is evicted yet.
      for (long id = 1001; id < 1000 + L1_SIZE; id++) {
        assertThat(cache.get(id, loader())).isNull();
        caffeineMaintenanceDone();
      }
      readEachOnce(cache, 1001, 1000 + L1_SIZE - 1); // L1 hits: each read start is read once more
      assertThat(cache.get(1000L + L1_SIZE, loader())).isNull(); // a write: Caffeine records the reads above
      caffeineMaintenanceDone();
      readEachOnce(cache, 1001, 1000 + L1_SIZE);

      // The slow load: it reads v1, and L1 stores it 9 s later, within degradedL1Ttl of the read.
      CacheLoader<Long, Product> slowLoader = id -> {
        Product row = products.find(id);
        clock.advance(DEGRADED_TTL.minusSeconds(1));
        return row;
      };
      assertThat(cache.get(1L, slowLoader).name()).isEqualTo("v1");
      assertThat(inL1(cache, 1L)).as("the slow answer was read less than degradedL1Ttl before its store: kept")
          .isTrue();
      caffeineMaintenanceDone();
      products.update(1, "v2"); // no invalidation can reach this client: it is degraded

      // More degraded misses, each read a few times while it is the newest: the first pushes the slow load's read
      // start out of the admission window, where it loses against any resident read more often; the next ones, read
      // more often than it, would win against it as well.
      for (long id = 1000 + L1_SIZE + 1; id <= 1000 + L1_SIZE + 4; id++) {
        for (int read = 0; read < 4; read++) {
          assertThat(cache.get(id, loader())).isNull();
        }
        caffeineMaintenanceDone();
      }
      assertThat(inL1(cache, 1L)).as("the slow answer itself is still in L1 (its value map holds one entry)")
          .isTrue();

      clock.advance(Duration.ofSeconds(2)); // v1 was read 11 s ago (> degradedL1Ttl), stored 2 s ago
      assertThat(jvm.degraded()).as("still degraded").isTrue();
      assertThat(cache.get(1L, loader()).name())
          .as("an answer read longer ago than degradedL1Ttl is not served from L1 while degraded (R5), whatever "
              + "became of its read start")
          .isEqualTo("v2");
    } finally {
      redisServer.start();
    }
  }

  private static void readEachOnce(CacheAside<Long, Product> cache, long from, long to) throws Exception {
    for (long id = from; id <= to; id++) {
      assertThat(cache.get(id, id2 -> {
        throw new AssertionError("an L1 hit was expected for " + id2);
      })).isNull();
    }
  }

  /** Caffeine runs its maintenance (recording reads, admission, eviction) on the common pool: wait until it is idle. */
  private static void caffeineMaintenanceDone() {
    assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS))
        .as("Caffeine's maintenance finished").isTrue();
  }
}
