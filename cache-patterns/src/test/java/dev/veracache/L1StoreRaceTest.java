package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Races inside {@link L1Store} between a store ({@code complete}), an invalidation, a second store of the key and a
 * degraded hit, found by a hostile review of the read-start fixes. Deterministic: one thread is parked at a chosen
 * point (a call of the client's ticker or of the epoch supplier, recognised by the frames on its stack) while the test
 * thread runs the other side of the race; no timing decides anything.
 */
class L1StoreRaceTest {

  private static final long BOUND = Duration.ofSeconds(10).toNanos();

  private final FakeTicker clock = new FakeTicker();
  private final AtomicLong epoch = new AtomicLong();
  private final Parker parker = new Parker();

  /** An L1 whose ticker and epoch supplier park {@link #parker}'s thread where it is told to. */
  private L1Store newStore() {
    Ticker ticker = () -> {
      parker.maybePark("ticker");
      return clock.read();
    };
    return new L1Store(100, Duration.ofMinutes(1), Duration.ofSeconds(10), ticker, () -> {
      parker.maybePark("epoch");
      return epoch.get();
    });
  }

  /**
   * R7: an invalidation that lands while a read's answer is being stored wins. {@code complete} checks the ticket
   * inside {@code values.asMap().compute} and then returns the answer; {@code invalidate} bumps the key and removes
   * it with {@code asMap().computeIfPresent}. Caffeine's {@code computeIfPresent} first looks the key up without a lock
   * (its "optimistic fast path") and returns at once when the key is absent, which it is, to a lock-free reader, while
   * a compute is inserting it. So when the key held nothing (the ordinary miss), an invalidation whose bump comes after
   * the compute checked the ticket, and whose removal comes before the compute published the node, removes nothing:
   * the answer read before the invalidation is stored after it, and served until {@code l1Ttl}.
   *
   * <p>The store is parked on the epoch supplier, which the compute calls right after it checked the invalidations.
   */
  @Test
  void anInvalidationThatLandsWhileAnAnswerIsStoredInAnEmptyKeyWins() throws Exception {
    L1Store store = newStore();
    L1Store.ReadTicket read = store.beginRead("k"); // a miss: L1 holds nothing for k

    parker.armInside("epoch", "lambda$complete");
    CompletableFuture<Boolean> kept = parker.run("store", () -> store.complete(read, "old"));
    parker.awaitParked();

    // The row changed: this invalidation lands while the answer is being stored (it returns, or waits for the store)
    Thread invalidation = besideTheParkedThread("invalidation", () -> store.invalidate("k"));
    parker.release();
    kept.get(10, TimeUnit.SECONDS);
    invalidation.join(10_000);
    store.endRead(read);

    assertThat(store.peek("k"))
        .as("an answer read before an invalidation that landed while it was stored is not kept in L1 (R7)").isNull();
  }

  /**
   * R5/R18: an answer stored under an age limit keeps its read start. A value and a "not found" of one key are
   * stored at once (two reads in flight: a split read and a get, or two flights after a detach): the value's compute
   * (values' lock) has put its read start and is about to publish its node; the "not found" compute (notFound's lock,
   * another lock) replaces the read start with its own, and then its {@code removeWithReadStart(values, k)} meets
   * Caffeine's lock-free fast path and removes nothing (the value is not published yet). The value is published; its
   * own {@code removeWithReadStart(notFound, k)} then removes the "not found" and, with it, the read start, which is
   * the "not found"'s by then. The value stays, with no read start: aged from its store, not from its read.
   *
   * <p>The value's store is parked on the ticker read Caffeine makes inside its compute, after the remapping function
   * returned and before the new node is in the map.
   */
  @Test
  void aValueStoredTogetherWithANotFoundOfItsKeyIsStillAgedFromItsRead() throws Exception {
    L1Store store = newStore();
    store.limitAgesBy(() -> BOUND); // degraded, or the listener is behind
    L1Store.ReadTicket valueRead = store.beginRead("k");
    L1Store.ReadTicket notFoundRead = store.beginRead("k");
    clock.advance(Duration.ofSeconds(9)); // slow loads, still within the bound when they are stored

    parker.armInside("ticker", "remap");
    CompletableFuture<Boolean> valueKept = parker.run("value-store", () -> store.complete(valueRead, "v"));
    parker.awaitParked();
    Thread notFoundStore = besideTheParkedThread("not-found-store", () -> store.complete(notFoundRead, null));
    parker.release();
    valueKept.get(10, TimeUnit.SECONDS);
    notFoundStore.join(10_000);
    store.endRead(valueRead);
    store.endRead(notFoundRead);

    clock.advance(Duration.ofSeconds(2)); // read 11 s ago, stored 2 s ago
    assertThat(store.getSlowly("k", store.values.getIfPresent("k"), BOUND))
        .as("an answer whose read began longer ago than the limit is not served (R5/R18)").isNull();
  }

  /**
   * R5/R18, one value object stored twice (a loader that returns shared instances: an enum, {@code Boolean.TRUE},
   * {@code List.of()}, an interned string). When read starts lived beside the entries, matched by the value's identity,
   * a degraded hit that gave up on the first store of {@code x} could forget the read start of the second; now each
   * store carries its own read start, so each is aged from its own read whatever the other does.
   */
  @Test
  void theSameObjectStoredTwiceIsAgedFromTheReadOfEachStore() {
    L1Store store = newStore();
    store.limitAgesBy(() -> BOUND);
    String x = "shared instance";
    store(store, "k", x);
    Object firstStore = store.values.getIfPresent("k"); // a degraded hit took the first store of x
    store.invalidate("k");
    L1Store.ReadTicket again = store.beginRead("k");
    clock.advance(Duration.ofSeconds(9));
    assertThat(store.complete(again, x)).as("x read again, stored within the bound").isTrue();
    store.endRead(again);
    assertThat(store.getSlowly("k", firstStore, BOUND)).as("the first store, read 9 s ago").isEqualTo(x);

    clock.advance(Duration.ofSeconds(2)); // the first store was read 11 s ago, the second too
    assertThat(store.getSlowly("k", firstStore, BOUND)).as("the first store, read 11 s ago").isNull();
    assertThat(store.getSlowly("k", store.values.getIfPresent("k"), BOUND))
        .as("an answer whose read began longer ago than the limit is not served (R5/R18)").isNull();
  }

  /**
   * Runs {@code body} on another thread while the parked thread holds its place, and returns once it is over or
   * waits (for a lock the parked thread holds, in a version of L1Store that serialises the two).
   */
  private static Thread besideTheParkedThread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> switch (t.getState()) {
      case TERMINATED, BLOCKED, WAITING, TIMED_WAITING -> true;
      default -> false;
    });
    return t;
  }

  /**
   * R5/R18: while a limit is in force, an entry stored under a limit is aged from its read, also while another answer
   * of its key is being stored. A store made while no limit is in force ({@code limited == false}: the listener caught
   * up a moment ago) forgets the read start of the entry it replaces inside its compute, and only then, still inside it,
   * does Caffeine publish the new value (and its write time); the old entry stays visible to lock-free hits meanwhile,
   * with no read start. If the limit is in force again by then (the listener fell behind again), a hit on the old entry
   * finds its Caffeine age young and no read start, and serves an answer read longer ago than the limit.
   *
   * <p>The store is parked on Caffeine's second ticker read inside its compute of a present key (the first checks the
   * old entry's expiry before the remapping function, the second follows it).
   */
  @Test
  void anEntryBeingReplacedByAStoreWithoutALimitIsStillAgedFromItsRead() throws Exception {
    L1Store store = newStore();
    AtomicLong limit = new AtomicLong(BOUND); // the listener is behind
    store.limitAgesBy(limit::get);
    L1Store.ReadTicket slow = store.beginRead("k");
    clock.advance(Duration.ofSeconds(9));
    assertThat(store.complete(slow, "x")).as("x, read 9 s ago, stored within the bound").isTrue();
    store.endRead(slow);
    limit.set(Long.MAX_VALUE); // the listener caught up
    L1Store.ReadTicket next = store.beginRead("k");
    clock.advance(Duration.ofSeconds(2)); // x: read 11 s ago, stored 2 s ago

    parker.armInside("ticker", "remap", 1);
    CompletableFuture<Boolean> kept = parker.run("store-without-limit", () -> store.complete(next, "y"));
    parker.awaitParked();
    limit.set(BOUND); // the listener is behind again
    AtomicReference<Object> hit = new AtomicReference<>();
    Thread hitThread = besideTheParkedThread("hit",
        () -> hit.set(store.getSlowly("k", store.values.getIfPresent("k"), BOUND)));
    parker.release();
    kept.get(10, TimeUnit.SECONDS);
    hitThread.join(10_000);
    store.endRead(next);

    assertThat(hit.get()).as("x, read longer ago than the limit, is not served while the limit is in force (R5/R18)")
        .isNull();
  }

  private static void store(L1Store store, String key, Object value) {
    L1Store.ReadTicket ticket = store.beginRead(key);
    assertThat(store.complete(ticket, value)).isTrue();
    store.endRead(ticket);
  }

  /**
   * Parks one thread, once, on a call of a hook ({@code "ticker"} or {@code "epoch"}) made while a frame of a method
   * whose name starts with {@code method} is on its stack; until {@link #release}.
   */
  private static final class Parker {
    private volatile Thread thread;
    private volatile String hook;
    private volatile String method;
    private final AtomicLong skip = new AtomicLong();
    private final CountDownLatch parked = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    void armInside(String hook, String method) {
      armInside(hook, method, 0);
    }

    /** The same, parking on the matching call after the first {@code skip} ones. */
    void armInside(String hook, String method, int skip) {
      this.hook = hook;
      this.method = method;
      this.skip.set(skip);
    }

    <T> CompletableFuture<T> run(String name, Supplier<T> body) {
      CompletableFuture<T> result = new CompletableFuture<>();
      Thread t = new Thread(() -> {
        try {
          result.complete(body.get());
        } catch (Throwable e) {
          result.completeExceptionally(e);
        }
      }, name);
      thread = t;
      t.start();
      return result;
    }

    void maybePark(String calledHook) {
      if (Thread.currentThread() != thread || !calledHook.equals(hook) || !onStack(method)
          || skip.getAndDecrement() > 0) {
        return;
      }
      thread = null; // once
      parked.countDown();
      try {
        if (!released.await(30, TimeUnit.SECONDS)) {
          throw new AssertionError("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    void awaitParked() throws InterruptedException {
      assertThat(parked.await(10, TimeUnit.SECONDS)).as("the thread reached its parking point").isTrue();
    }

    void release() {
      released.countDown();
    }

    private static boolean onStack(String method) {
      return StackWalker.getInstance().walk(frames -> frames.anyMatch(f -> f.getMethodName().startsWith(method)));
    }
  }
}
