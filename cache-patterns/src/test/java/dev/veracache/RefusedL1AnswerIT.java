package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A read whose answer L1 refuses (an invalidation or a loss of invalidations came while it was in flight, R7) writes
 * nothing into L1: found by a hostile review. The refusal was a Caffeine {@code compute} that returned the entry already
 * there, which Caffeine counts as a write: the entry's age restarted, and while the client was degraded (R5) an entry
 * older than {@code degradedL1Ttl} was served again, as of a value the database no longer held.
 */
class RefusedL1AnswerIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  /** Holds the first Redis answer of one chosen thread until released; records whether L1 took that answer. */
  static final class HoldOneRead implements CacheHooks {
    volatile Thread holdThread;
    final CountDownLatch arrived = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicReference<Boolean> decided = new AtomicReference<>();

    @Override
    public void afterRedisRead(String redisKey) {
      if (Thread.currentThread() == holdThread) {
        arrived.countDown();
        try {
          if (!release.await(30, TimeUnit.SECONDS)) {
            throw new AssertionError("never released");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }

    @Override
    public void fenceDecided(String redisKey, boolean accepted) {
      if (Thread.currentThread() == holdThread) {
        decided.set(accepted);
      }
    }
  }

  /** Refused within a second of the entry's write (inside Caffeine's write-time tolerance). */
  @Test
  void aRefusedAnswerDoesNotMakeAnOldEntryYoungWhileDegraded() throws Exception {
    refusedAnswerWhileDegraded(Duration.ofSeconds(1), Duration.ofMillis(900), Duration.ofMillis(200));
  }

  /** Refused more than a second after the entry's write: there Caffeine did restart the entry's age. */
  @Test
  void aRefusedAnswerDoesNotMakeAnOldEntryYoungWhileDegradedWithALongerDegradedTtl() throws Exception {
    refusedAnswerWhileDegraded(Duration.ofSeconds(5), Duration.ofSeconds(3), Duration.ofMillis(2500));
  }

  /**
   * B reads key 1 from Redis and is held; A puts v1 into L1 at T0; the database moves to v2 and Redis stops (the client
   * degrades); at T0 + {@code beforeRefusal} B's answer is refused; at T0 + beforeRefusal + afterRefusal (past
   * {@code degradedTtl}) a read must come from the loader.
   */
  private void refusedAnswerWhileDegraded(Duration degradedTtl, Duration beforeRefusal, Duration afterRefusal)
      throws Exception {
    products.insert(1, "v1");
    FakeTicker clock = new FakeTicker();
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(degradedTtl).ticker(clock));
    HoldOneRead hooks = new HoldOneRead();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().hooks(hooks).build());
    newInstance().cacheAside(productOptions().build()).get(1L, loader()); // Redis holds v1; this client's L1 is empty

    CompletableFuture<SplitRead<Product>> splitRead = new CompletableFuture<>();
    Thread b = new Thread(() -> {
      try {
        splitRead.complete(cache.tiered().beginRead(1L));
      } catch (Throwable t) {
        splitRead.completeExceptionally(t);
      }
    }, "held-split-read");
    hooks.holdThread = b;
    b.start();
    assertThat(hooks.arrived.await(10, TimeUnit.SECONDS)).as("B read Redis").isTrue();

    assertThat(cache.get(1L, loader()).name()).isEqualTo("v1");
    assertThat(inL1(cache, 1L)).as("A put v1 into L1 at T0").isTrue();

    products.update(1, "v2"); // no invalidation can reach this client below
    redisServer.stop();
    try {
      await().atMost(WITHIN).until(jvm::degraded);
      clock.advance(beforeRefusal); // v1 is still younger than degradedL1Ttl
      hooks.release.countDown();
      assertThat(splitRead.get(10, TimeUnit.SECONDS).found()).isTrue();
      assertThat(hooks.decided.get()).as("B's answer straddled the degrade: refused").isFalse();

      clock.advance(afterRefusal); // v1 entered L1 longer ago than degradedL1Ttl
      assertThat(cache.get(1L, loader()).name())
          .as("an entry older than degradedL1Ttl is not served while degraded (R5), whatever reads were refused")
          .isEqualTo("v2");
    } finally {
      hooks.release.countDown();
      redisServer.start();
    }
  }
}
