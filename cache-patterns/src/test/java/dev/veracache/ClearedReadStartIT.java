package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While an age limit is in force (R18: the CDC listener is not known to be within {@code listenerStalenessBound}) an
 * L1 value is aged from when its answer was read ({@code L1Store.readStarts}). Found by a hostile review of f6e7e36 ("a
 * read start belongs to its L1 entry"): {@code clear} (and likewise {@code invalidate} and {@code drop}) empties the
 * maps first and removes the read starts afterwards, by key and outside any per-key compute. A read that begins after
 * the clear refused the reads in flight, and stores its answer before the clear reaches {@code readStarts.clear()},
 * loses its read start while its value stays: it is then aged from its store.
 *
 * <p>Deterministic: the clearing thread ({@code invalidateAll}, which clears L1 before and after Redis) is parked on
 * the client's ticker inside its second {@code L1Store.clear}, on the read Caffeine makes when it clears the not-found
 * map, after the value map was cleared. The read that stores v1 runs meanwhile; it takes no lock the parked thread
 * holds.
 */
class ClearedReadStartIT extends RealServersTest {

  private static final Duration BOUND = Duration.ofSeconds(10);

  /**
   * The client's clock: a {@link FakeTicker} that parks one chosen thread on its {@code parkOn}-th read inside a
   * Caffeine {@code clear} called from {@code L1Store.clear}, until released.
   */
  static final class ParkingTicker implements Ticker {
    final FakeTicker clock = new FakeTicker();
    volatile Thread parkThread;
    volatile int parkOn;
    private int seen; // read by parkThread only
    final CountDownLatch parked = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public long read() {
      if (Thread.currentThread() == parkThread && insideL1Clear() && ++seen == parkOn) {
        parkThread = null; // once
        parked.countDown();
        try {
          if (!release.await(30, TimeUnit.SECONDS)) {
            throw new AssertionError("never released");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
      return clock.read();
    }

    private static boolean insideL1Clear() {
      return StackWalker.getInstance().walk(frames -> {
        boolean[] found = new boolean[2];
        frames.forEach(frame -> {
          if (frame.getClassName().endsWith(".BoundedLocalCache") && frame.getMethodName().equals("clear")) {
            found[0] = true;
          }
          if (frame.getClassName().equals(L1Store.class.getName()) && frame.getMethodName().equals("clear")) {
            found[1] = true;
          }
        });
        return found[0] && found[1];
      });
    }
  }

  @Test
  void aValueStoredWhileL1IsBeingClearedKeepsItsReadStart() throws Exception {
    products.insert(1, "v1");
    ParkingTicker ticker = new ParkingTicker();
    Veracache jvm = newInstance(b -> b.ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> !jvm.degraded());
    assertThat(jvm.listenerUntrusted(namespace)).as("no listener has published progress: untrusted").isTrue();

    // invalidateAll: L1Store.clear (values, then not found: one ticker read each), Redis, L1Store.clear again. Park
    // on the fourth: the second clear has emptied the value map, its read starts are not removed yet.
    CompletableFuture<Void> clearing = new CompletableFuture<>();
    Thread clearer = new Thread(() -> {
      try {
        cache.tiered().invalidateAll();
        clearing.complete(null);
      } catch (Throwable t) {
        clearing.completeExceptionally(t);
      }
    }, "invalidate-all");
    ticker.parkOn = 4;
    ticker.parkThread = clearer;
    clearer.start();
    try {
      assertThat(ticker.parked.await(10, TimeUnit.SECONDS)).as("the second clear emptied the value map").isTrue();

      // A read that begins now (nothing refuses it): a slow load of v1, stored within the bound of its read.
      CacheLoader<Long, Product> slowLoader = id -> {
        Product row = products.find(id);
        ticker.clock.advance(BOUND.minusSeconds(1));
        return row;
      };
      // It runs beside the parked clear: it stores v1, or waits for a lock the clear holds (then the clear goes on).
      CompletableFuture<Product> slowRead = new CompletableFuture<>();
      Thread reader = new Thread(() -> {
        try {
          slowRead.complete(cache.get(1L, slowLoader));
        } catch (Throwable t) {
          slowRead.completeExceptionally(t);
        }
      }, "read-during-clear");
      reader.start();
      await().atMost(Duration.ofSeconds(10))
          .until(() -> slowRead.isDone() || RefusedNotFoundReadStartIT.waitsForALock(reader));
      ticker.release.countDown();
      assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).isEqualTo("v1");
      clearing.get(10, TimeUnit.SECONDS);

      products.update(1, "v2"); // the listener is behind: nothing invalidates this client
      ticker.clock.advance(Duration.ofSeconds(2)); // v1 was read 11 s ago (> bound), stored 2 s ago
      assertThat(jvm.listenerUntrusted(namespace)).as("still untrusted").isTrue();
      assertThat(jvm.degraded()).as("not degraded").isFalse();

      assertThat(cache.get(1L, loader()).name())
          .as("a value read longer ago than listenerStalenessBound is not served from L1 while the listener is "
              + "untrusted (R18), whatever clear ran while it was stored")
          .isEqualTo("v2");
    } finally {
      ticker.release.countDown();
      clearer.join(10_000);
    }
  }
}
