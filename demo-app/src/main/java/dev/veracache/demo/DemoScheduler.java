package dev.veracache.demo;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The demo's timer threads: the page's one-second tick, the delayed halves of actions (resume Redis, restart the
 * listener), the watch of a SQL change. Shut down by {@link DemoWorkers}; after that nothing is scheduled (a delayed
 * restart of the listener never runs during shutdown).
 */
@Component
public class DemoScheduler {

  private static final Logger log = LoggerFactory.getLogger(DemoScheduler.class);
  private final ScheduledExecutorService executor;

  DemoScheduler() {
    AtomicInteger n = new AtomicInteger();
    ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(3, r -> {
      Thread t = new Thread(r, "demo-scheduler-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    pool.setRemoveOnCancelPolicy(true);
    this.executor = pool;
  }

  /** Runs {@code task} once after {@code millis} (a failure is logged). */
  void after(long millis, Runnable task) {
    ScheduledFuture<?> unused = executor.schedule(logged(task), millis, TimeUnit.MILLISECONDS);
  }

  ScheduledFuture<?> every(long millis, Runnable task) {
    return executor.scheduleWithFixedDelay(logged(task), millis, millis, TimeUnit.MILLISECONDS);
  }

  /** A task that throws is logged and, if periodic, keeps its schedule. */
  private static Runnable logged(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.warn("demo task failed: {}", e.toString(), e);
      }
    };
  }

  void shutdown() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
