package dev.veracache;

import com.github.benmanes.caffeine.cache.Ticker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A {@link FakeTicker} that parks chosen reads of the clock until the test releases them. Every L1 decision reads the
 * client's ticker ({@code VeracacheOptions.Builder.ticker}), so a read of it is where a race test stops one thread
 * while another acts: deterministic, no sleeps. Each {@link Park} parks the first read that matches it, once; the test
 * waits for {@link Park#arrived}, acts, then counts down {@link Park#release}.
 */
final class ParkingTicker implements Ticker {

  final FakeTicker clock = new FakeTicker();
  private final List<Park> parks = new CopyOnWriteArrayList<>();

  @Override
  public long read() {
    for (Park park : parks) {
      park.parkIfHere();
    }
    return clock.read();
  }

  /** Parks the first read, on any thread, for which {@code here} holds (from now on). */
  Park parkWhere(BooleanSupplier here) {
    Park park = new Park(here, false);
    parks.add(park);
    return park;
  }

  /** Parks the first read of the thread later named by {@link Park#onThread}. */
  Park parkThread() {
    return parkThreadWhere(() -> true);
  }

  /** Parks the first read of the thread later named by {@link Park#onThread} for which {@code here} holds. */
  Park parkThreadWhere(BooleanSupplier here) {
    Park park = new Park(here, true);
    parks.add(park);
    return park;
  }

  /** Whether every one of {@code classAndMethod} (pairs: a class, one of its methods) is on the caller's stack. */
  static boolean onStack(Class<?> type, String method, Object... moreClassAndMethod) {
    Object[] pairs = new Object[moreClassAndMethod.length + 2];
    pairs[0] = type;
    pairs[1] = method;
    System.arraycopy(moreClassAndMethod, 0, pairs, 2, moreClassAndMethod.length);
    return StackWalker.getInstance().walk(frames -> {
      boolean[] seen = new boolean[pairs.length / 2];
      frames.forEach(frame -> {
        for (int i = 0; i < seen.length; i++) {
          if (frame.getClassName().equals(((Class<?>) pairs[2 * i]).getName())
              && frame.getMethodName().equals(pairs[2 * i + 1])) {
            seen[i] = true;
          }
        }
      });
      for (boolean s : seen) {
        if (!s) {
          return false;
        }
      }
      return true;
    });
  }

  /** One place where a read of the clock parks, once. */
  static final class Park {
    final CountDownLatch arrived = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final BooleanSupplier here;
    private final boolean needsThread;
    private final AtomicBoolean armed = new AtomicBoolean(true);
    private volatile Thread thread;

    private Park(BooleanSupplier here, boolean needsThread) {
      this.here = here;
      this.needsThread = needsThread;
    }

    /** The thread whose read parks (for {@link #parkThread}); before it starts. */
    void onThread(Thread thread) {
      this.thread = thread;
    }

    private void parkIfHere() {
      if (!armed.get() || needsThread && Thread.currentThread() != thread || !here.getAsBoolean()
          || !armed.compareAndSet(true, false)) {
        return;
      }
      arrived.countDown();
      try {
        if (!release.await(30, TimeUnit.SECONDS)) {
          throw new AssertionError("a read parked on the clock was never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
