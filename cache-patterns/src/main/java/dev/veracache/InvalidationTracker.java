package dev.veracache;

import dev.veracache.internal.RedisLink;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes every instance's L1 drop a key when anyone changes it in Redis, and decides when L1 and Redis can be trusted.
 * It holds the trust state that every read checks ({@link #degraded}, {@link #redisUnsafe}, {@link #epoch}) and
 * wires the parts that move it, each with its own invariants:
 * <ul>
 *   <li>{@link TrackingSubscription}: client tracking on the one connection, and its pushes;</li>
 *   <li>{@link Heartbeat}: a periodic write that proves Redis takes invalidations;</li>
 *   <li>{@link KeyShapes}: the caches a pushed key belongs to; {@link KeyWaiters}: misses waiting for a fill;</li>
 *   <li>{@link ListenerWatch}: the CDC listeners' progress, for namespaces that bound their staleness (R18).</li>
 * </ul>
 * This client drops its own invalidated keys from L1 directly and does not wait for their push.
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@link #degraded} is true whenever an invalidation could be missed: tracking not (yet) on for every
 *       namespace on the current connection, the last heartbeat write failed, or the circuit breaker not closed.
 *       L1 serves only young entries then; after a failed heartbeat, reads bypass Redis too.</li>
 *   <li>Leaving the degraded state bumps {@link #epoch} and clears every L1: whatever was missed meanwhile is gone.
 *       Entering it bumps the epoch too, so no read that straddles the change writes L1 (see {@link L1Store}). A flush
 *       push bumps it as well.</li>
 *   <li>The constructor only builds; {@link #start} registers the listeners and schedules the tracking and heartbeat
 *       tasks, after every field they touch exists.</li>
 *   <li>{@link #epoch} and {@link #degraded} change only under {@link #stateLock} ({@link #updateDegraded}), where
 *       the tracking subscription also flips {@code trackingOn}; {@link #redisUnsafe} is written by the heartbeat
 *       thread only.</li>
 * </ul>
 */
final class InvalidationTracker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(InvalidationTracker.class);

  volatile long epoch;
  volatile boolean degraded = true;
  /**
   * True after a heartbeat write failed: Redis is silent behind a live connection (paused, partitioned), or refuses
   * writes (read-only replica, OOM), so nobody's invalidations can land. Readers then bypass Redis as well as L1.
   */
  volatile boolean redisUnsafe;
  final long degradedTtlNanos;
  /** The CDC listeners' progress, for namespaces that bound their staleness (R18). */
  final ListenerWatch listeners;
  final KeyWaiters keyWaiters = new KeyWaiters();
  /** Re-reads this client's own fills and sets into L1 after their own push dropped them. */
  final OwnWriteRereads ownWriteRereads;
  final Object stateLock = new Object();

  private final RedisLink link;
  private final VeracacheOptions options;
  private final KeyShapes shapes;
  private final TrackingSubscription subscription;
  private final Heartbeat heartbeat;
  private final ScheduledExecutorService guardian;
  /** The tracking and heartbeat tasks ({@link #guarded}: a failure is logged, they run again); cancelled on close. */
  private final List<ScheduledFuture<?>> periodicTasks = new CopyOnWriteArrayList<>();
  private final Counter recoveries;
  private volatile boolean closed;
  /** Runs when Redis is healthy again (leaving degraded mode): the client retries its refused invalidations at once. */
  private volatile Runnable onRecovery = () -> {};

  InvalidationTracker(RedisLink link, VeracacheOptions options) {
    this.link = link;
    this.options = options;
    this.degradedTtlNanos = options.degradedL1Ttl.toNanos();
    this.listeners = new ListenerWatch(link, options);
    this.shapes = new KeyShapes(listeners);
    this.subscription = new TrackingSubscription(this, link, shapes, keyWaiters,
        l1Invalidations(options, "push", "L1 keys dropped because Redis reported a change"),
        l1Invalidations(options, "flush", "L1 cleared because Redis reported a flush"));
    this.heartbeat = new Heartbeat(this, link, listeners, subscription, options);
    this.ownWriteRereads = new OwnWriteRereads(link.endpoint(), this::awaitPushesSoFar);
    this.recoveries = l1Invalidations(options, "recovery",
        "L1 cleared on leaving degraded mode (invalidations may have been missed)");
    Gauge.builder("veracache.degraded", this, t -> t.degraded ? 1 : 0)
        .description("1 while invalidations may be missed (Redis unreachable or tracking off): L1 serves young entries "
            + "only and misses go to the loader")
        .tag("client", options.clientName).register(options.meterRegistry);
    String endpoint = link.endpoint();
    this.guardian = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veracache-tracking-" + endpoint);
      t.setDaemon(true);
      return t;
    });
  }

  private static Counter l1Invalidations(VeracacheOptions options, String source, String description) {
    MeterRegistry registry = options.meterRegistry;
    return Counter.builder("veracache.l1.invalidations").tag("client", options.clientName).tag("source", source)
        .description(description).register(registry);
  }

  /** Registers the push and connection listeners and the breaker's, then schedules tracking and the heartbeat. */
  void start() {
    subscription.start();
    ownWriteRereads.start();
    link.breaker().getEventPublisher().onStateTransition(event -> {
      log.info("Redis circuit breaker for {}: {}", link.endpoint(), event.getStateTransition());
      updateDegraded();
    });
    long interval = options.trackingRetryInterval.toNanos();
    periodicTasks.add(guardian.scheduleWithFixedDelay(guarded("tracking", subscription::ensureTracking), interval,
        interval, TimeUnit.NANOSECONDS));
    long beat = options.heartbeatInterval.toNanos();
    periodicTasks.add(guardian.scheduleWithFixedDelay(guarded("heartbeat", heartbeat), beat, beat,
        TimeUnit.NANOSECONDS));
  }

  /**
   * Adds a cache (one key shape of a namespace), its L1 ({@code null} when L1 is off) and its single-flight table (a
   * change detaches the key's flight, so that no later read joins a load that may have read the old row); tracking is
   * re-enabled to cover the namespace before this returns (if Redis is up).
   *
   * @throws IllegalArgumentException see {@link KeyShapes#add}
   */
  KeyShape register(String namespace, String prefix, L1Store store, SingleFlight<?> flight,
      Duration listenerStalenessBound) {
    KeyShapes.Added added = shapes.add(namespace, prefix, store, flight, listenerStalenessBound);
    subscription.add(namespace); // also for a sibling shape: its namespace's first cache may still be waiting below
    if (!added.newNamespace() && subscription.covers(namespace)) {
      return added.shape(); // tracking already covers the namespace's prefix
    }
    try {
      guardian.submit(subscription::ensureTracking).get(5, TimeUnit.SECONDS);
      if (added.newNamespace() && listenerStalenessBound != null) {
        guardian.submit(listeners::poll).get(5, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      log.warn("could not enable Redis tracking for namespace '{}' yet; it will be retried", namespace);
    }
    if (!subscription.covers(namespace)) {
      subscription.coverageFailed(); // the cache is handed out untracked: every L1 is distrusted until tracking is back
    }
    return added.shape();
  }

  void onRecovery(Runnable action) {
    this.onRecovery = action;
  }

  /**
   * Returns once every push Redis sent before now has been handled: a PING on each tracking connection (on a cluster,
   * each master's) is answered after them. Redis (6.2 and 7.0) does not honour NOLOOP for writes made by scripts, so
   * this client's own fills come back as pushes; tests use this to wait for them instead of sleeping.
   */
  void awaitPushesSoFar() {
    for (RedisLink.Node node : link.nodes()) {
      link.control(() -> node.connection().sync().ping());
    }
  }

  void execute(Runnable task) {
    guardian.execute(task);
  }

  /** The connection dropped: distrust now; the Redis we reconnect to may have restarted from an older snapshot. */
  void connectionLost() {
    if (closed) {
      return;
    }
    log.warn("Redis connection to {} lost: L1 entries are trusted for at most {} until tracking is back",
        link.endpoint(), Duration.ofNanos(degradedTtlNanos));
    // Until tracking is back and the listener has applied everything up to then, watched namespaces must not read it
    // (R15).
    listeners.onRedisLost();
    updateDegraded();
  }

  /** Redis takes writes again after a failed heartbeat: let the refused invalidations land first. */
  void recovering() {
    onRecovery.run();
  }

  /** A flush (or a tracking-table overflow) was pushed: every key may have changed. */
  void everythingChanged() {
    synchronized (stateLock) {
      epoch++;
      shapes.clearAll();
    }
  }

  void updateDegraded() {
    synchronized (stateLock) {
      boolean nowDegraded = !subscription.trackingOn || redisUnsafe
          || link.breaker().getState() != CircuitBreaker.State.CLOSED;
      if (nowDegraded == degraded) {
        return;
      }
      epoch++;
      if (nowDegraded) {
        degraded = true;
      } else {
        // Whatever changed while we could not hear about it must not be served: start L1 over, and distrust watched
        // namespaces until their listener has caught up with this moment.
        listeners.onRedisRecovered();
        shapes.clearAll();
        recoveries.increment();
        degraded = false;
        log.info("Redis at {} is back and tracking is on: L1 cleared, normal mode", link.endpoint());
        onRecovery.run();
      }
    }
  }

  /** A periodic task that logs what it throws instead of silently ending its schedule. */
  private static Runnable guarded(String what, Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("Redis {} task failed; it runs again at its next interval", what, e);
      }
    };
  }

  @Override
  public void close() {
    closed = true;
    periodicTasks.forEach(task -> task.cancel(false));
    guardian.shutdownNow();
    ownWriteRereads.close();
  }
}
