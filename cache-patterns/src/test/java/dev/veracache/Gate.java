package dev.veracache;

import dev.veracache.testing.CacheHooks;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Holds one thread at a hook point until the test opens it: {@link #hold()} is called from the hook (only the first
 * time it is armed), {@link #awaitArrival()} lets the test know the thread is parked there, {@link #open()} releases it.
 * Every wait is bounded, so a broken test fails instead of hanging.
 */
final class Gate {
  private final AtomicBoolean armed = new AtomicBoolean(true);
  private final CountDownLatch arrived = new CountDownLatch(1);
  private final CountDownLatch opened = new CountDownLatch(1);

  void hold() {
    if (!armed.compareAndSet(true, false)) {
      return;
    }
    arrived.countDown();
    try {
      if (!opened.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  void awaitArrival() throws InterruptedException {
    if (!arrived.await(30, TimeUnit.SECONDS)) {
      throw new AssertionError("no thread reached the gate");
    }
  }

  void open() {
    opened.countDown();
  }

  /** Hooks that park the first loader's thread here, after its load and before its fill. */
  CacheHooks afterLoad() {
    return new CacheHooks() {
      @Override
      public void afterLoad(String redisKey) {
        hold();
      }
    };
  }

  /** Hooks that park the first writer's thread here, after its commit and before its versioned set. */
  CacheHooks beforeVersionedSet() {
    return new CacheHooks() {
      @Override
      public void beforeVersionedSet(String redisKey, long version) {
        hold();
      }
    };
  }
}
