package dev.veracache.demo;

import dev.veracache.Veracache;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.stereotype.Component;

/**
 * The demo's own threads for the application's lifetime: the one-second tick (load rates, the SSE stream), the
 * load generator, the sale's buyers, the delayed halves of actions.
 *
 * <p>Invariants: stops after the CDC listener and the stock flusher and before the web server ({@link #PHASE}), in
 * this order: no new listener restart (already at {@link ContextClosedEvent}, before any lifecycle stops), the load
 * generator, the buyers, Redis resumed if paused, every SSE stream completed, the timers; then, for at most
 * {@value #DRAIN_SECONDS} s, the client's queued invalidations (writes made while Redis was paused) are given the
 * chance to reach Redis before the client closes.
 */
@Component
public class DemoWorkers implements SmartLifecycle, ApplicationListener<ContextClosedEvent> {

  /** After {@link StockFlusherLifecycle#PHASE}, before the web server's graceful shutdown (MAX_VALUE - 1024). */
  public static final int PHASE = CdcInvalidatorLifecycle.PHASE - 20;

  static final long DRAIN_SECONDS = 5;
  private static final Logger log = LoggerFactory.getLogger(DemoWorkers.class);
  private final Veracache veracache;
  private final DemoScheduler scheduler;
  private final LoadGenerator load;
  private final FlashSale sale;
  private final DemoActions actions;
  private final SnapshotStream stream;
  private volatile boolean running;

  DemoWorkers(Veracache veracache, DemoScheduler scheduler, LoadGenerator load, FlashSale sale, DemoActions actions,
      SnapshotStream stream) {
    this.veracache = veracache;
    this.scheduler = scheduler;
    this.load = load;
    this.sale = sale;
    this.actions = actions;
    this.stream = stream;
  }

  @Override
  public void start() {
    var unused = scheduler.every(1000, () -> {
      load.sample();
      stream.tick();
    });
    running = true;
  }

  @Override
  public void onApplicationEvent(ContextClosedEvent event) {
    actions.beginShutdown();
  }

  @Override
  public void stop() {
    running = false;
    actions.beginShutdown();
    load.stop();
    sale.stop();
    actions.stop();
    stream.completeAll();
    scheduler.shutdown();
    drainPendingInvalidations();
  }

  /** Waits (bounded) for the client's retry of invalidations Redis did not take while it was paused. */
  private void drainPendingInvalidations() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_SECONDS);
    int pending = veracache.pendingInvalidations();
    if (pending == 0) {
      return;
    }
    log.info("waiting up to {} s for {} invalidations queued while Redis was unavailable", DRAIN_SECONDS, pending);
    while (veracache.pendingInvalidations() > 0 && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}
