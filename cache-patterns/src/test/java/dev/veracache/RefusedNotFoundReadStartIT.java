package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * While an age limit is in force (R18 here: the CDC listener is not known to be within {@code listenerStalenessBound};
 * R5 is the same rule while degraded) an L1 value is aged from when its answer was read ({@code L1Store.readStarts}).
 * Found by a hostile review of f6e7e36 ("a read start belongs to its L1 entry"): the read starts of both maps share one
 * map keyed by key, and {@code complete} of a "not found" that is refused (or stored without a limit) removes the key's
 * read start by key, inside the compute of the not-found map, while the value the key holds in the value map stays
 * there until {@code complete}'s {@code values.invalidate} a moment later. A hit in between finds the value without a
 * read start, ages it by Caffeine from its store, and serves a value read longer ago than the bound.
 *
 * <p>Deterministic: the refused read is parked on the client's ticker inside that {@code values.invalidate}
 * (Caffeine's {@code remove} reads the ticker under the key's lock; the hit path takes no lock), found by its stack.
 */
class RefusedNotFoundReadStartIT extends RealServersTest {

  private static final Duration BOUND = Duration.ofSeconds(10);

  /**
   * True while {@code thread} waits for a lock (a map's per-key monitor, or a lock of
   * {@code java.util.concurrent.locks}) that the parked thread may hold: it must be released for that thread to go on.
   */
  static boolean waitsForALock(Thread thread) {
    Thread.State state = thread.getState();
    if (state != Thread.State.BLOCKED && state != Thread.State.WAITING) {
      return false;
    }
    for (StackTraceElement frame : thread.getStackTrace()) {
      String name = frame.getClassName();
      if (state == Thread.State.BLOCKED ? name.equals("java.util.concurrent.ConcurrentHashMap")
          : name.startsWith("java.util.concurrent.locks.AbstractQueued")) {
        return true;
      }
    }
    return false;
  }

  /** Inside {@code L1Store.complete}'s removal of the other map's entry: Caffeine's remove or removeWithReadStart. */
  private static boolean insideCompletesRemoval() {
    return StackWalker.getInstance().walk(frames -> {
      boolean[] seen = new boolean[2];
      frames.forEach(frame -> {
        if (frame.getClassName().endsWith(".BoundedLocalCache") && frame.getMethodName().equals("remove")
            || frame.getClassName().equals(L1Store.class.getName())
                && frame.getMethodName().equals("removeWithReadStart")) {
          seen[0] = true;
        }
        if (frame.getClassName().equals(L1Store.class.getName()) && frame.getMethodName().equals("complete")) {
          seen[1] = true;
        }
      });
      return seen[0] && seen[1];
    });
  }

  @Test
  void aValueReadLongerAgoThanTheBoundIsNotServedWhileARefusedNotFoundOfItsKeyIsBeingStored() throws Exception {
    ParkingTicker ticker = new ParkingTicker();
    Veracache jvm = newInstance(b -> b.ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().listenerStalenessBound(BOUND).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> !jvm.degraded());
    assertThat(jvm.listenerUntrusted(namespace)).as("no listener has published progress: untrusted").isTrue();

    // Read A: row 1 does not exist yet; its load answers "not found" and is held before it returns.
    CountDownLatch aRead = new CountDownLatch(1);
    CountDownLatch aMayReturn = new CountDownLatch(1);
    CacheLoader<Long, Product> heldLoader = id -> {
      Product row = products.find(id);
      aRead.countDown();
      if (!aMayReturn.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("never released");
      }
      return row;
    };
    CompletableFuture<Product> a = new CompletableFuture<>();
    Thread aThread = new Thread(() -> {
      try {
        a.complete(cache.get(1L, heldLoader));
      } catch (Throwable t) {
        a.completeExceptionally(t);
      }
    }, "refused-not-found");
    // Parks A once it is told to, on its first ticker read inside complete's removal of the other map's entry.
    ParkingTicker.Park inRemoval = ticker.parkThreadWhere(RefusedNotFoundReadStartIT::insideCompletesRemoval);
    aThread.start();
    try {
      assertThat(aRead.await(10, TimeUnit.SECONDS)).as("read A found no row 1").isTrue();

      products.insert(1, "v1");
      cache.invalidate(1L); // the application's invalidation: A's answer will be refused, its flight is detached
      jvm.awaitPushesSoFar();

      // Read B: a slow load of v1, stored in L1 within the bound of its read.
      CacheLoader<Long, Product> slowLoader = id -> {
        Product row = products.find(id);
        ticker.clock.advance(BOUND.minusSeconds(1));
        return row;
      };
      assertThat(cache.get(1L, slowLoader).name()).isEqualTo("v1");
      assertThat(inL1(cache, 1L)).as("v1 was read less than the bound before its store: kept").isTrue();

      products.update(1, "v2"); // the listener is behind: nothing invalidates this client
      ticker.clock.advance(Duration.ofSeconds(2)); // v1 was read 11 s ago (> bound), stored 2 s ago

      // A returns "not found": refused (invalidated, and read 11 s ago). Where a refusal still removes the other map's
      // entry, A is parked inside that removal; where a refusal touches nothing (the fix), A just returns.
      inRemoval.onThread(aThread);
      aMayReturn.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> inRemoval.arrived.getCount() == 0 || a.isDone());
      assertThat(jvm.listenerUntrusted(namespace)).as("still untrusted").isTrue();
      assertThat(jvm.degraded()).as("not degraded: no epoch change refuses anything here").isFalse();

      // The hit runs beside the parked A: it answers from L1, or waits for A's lock on the key (then A is released).
      CompletableFuture<Product> hit = new CompletableFuture<>();
      Thread hitThread = new Thread(() -> {
        try {
          hit.complete(cache.get(1L, loader()));
        } catch (Throwable t) {
          hit.completeExceptionally(t);
        }
      }, "hit-beside-refused-not-found");
      hitThread.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> hit.isDone() || waitsForALock(hitThread));
      inRemoval.release.countDown();
      assertThat(hit.get(10, TimeUnit.SECONDS).name())
          .as("a value read longer ago than listenerStalenessBound is not served from L1 while the listener is "
              + "untrusted (R18), even while a refused 'not found' of its key is being stored")
          .isEqualTo("v2");
    } finally {
      aMayReturn.countDown();
      inRemoval.release.countDown();
      aThread.join(10_000);
    }
    assertThat(a.get(10, TimeUnit.SECONDS)).as("A itself answers what it read").isNull();
  }
}
