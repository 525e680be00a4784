package dev.veracache;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.push.PushMessage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes every instance's L1 drop a key when anyone changes it in Redis, through RESP3 client tracking in broadcast
 * mode ({@code CLIENT TRACKING ON BCAST PREFIX ns: ... NOLOOP}). NOLOOP spares the pushes of this client's own plain
 * writes only: writes made inside Lua scripts are pushed back to the client that ran the script, on Redis 6.2 and 7.0
 * alike (redis/redis#11052; pinned by {@code NoloopScriptWritesTest}). Every fence write is a script, so this client
 * hears its own fills and invalidations, which only costs an L1 entry that the next read re-creates: an invalidation
 * too many is always safe. This client drops its own invalidated keys from L1 directly and does not wait for that push.
 *
 * <p>Why broadcast: in default mode Redis forgets a key for a client once it has sent one invalidation, so a fill
 * after a miss would leave an untracked L1 entry. Broadcast notifies every change under the prefixes, whoever made it
 * (another instance, the CDC listener, {@code redis-cli}). This client's own invalidations also drop its L1 directly.
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@link #degraded} is true whenever an invalidation could be missed: tracking not (yet) on for every
 *       namespace on the current connection, the last heartbeat write failed, or the circuit breaker not closed.
 *       L1 serves only young entries then; after a failed heartbeat, reads bypass Redis too.</li>
 *   <li>Leaving the degraded state bumps {@link #epoch} and clears every L1: whatever was missed meanwhile is gone.
 *       Entering it bumps the epoch too, so no read that straddles the change writes L1 (see {@link L1Store}).</li>
 *   <li>Tracking is (re)enabled as OFF then ON with every prefix, and only counts for the connection generation it was
 *       sent on: a reply that raced a disconnect does not mark the new connection tracked.</li>
 *   <li>A push with no keys (FLUSHALL, FLUSHDB, a tracking-table overflow) clears every L1.</li>
 *   <li>A namespace may have several caches, one per key shape ({@code CacheOptions.keyPrefix}); a pushed key is
 *       offered to every shape of its namespace whose prefix it begins with, so each drops its own entry (an extra
 *       drop in the plain shape is harmless: no key of it begins with a sibling's prefix). The shapes of a namespace
 *       never overlap (equal prefixes, or one beginning with another, are refused) and share one staleness bound. A
 *       shape added later takes its keys out of the plain shape's L1 (entries and reads in flight).</li>
 * </ul>
 */
final class InvalidationTracker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(InvalidationTracker.class);

  volatile long epoch;
  volatile boolean degraded = true;
  final long degradedTtlNanos;

  private final RedisLink link;
  /** Every cache's namespace is tracked (pushes also wake misses waiting for a lease); L1s only where enabled. */
  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();
  /** The key shapes (caches) of each namespace, in registration order; a push is offered to every one. */
  private final ConcurrentHashMap<String, List<KeyShape>> shapes = new ConcurrentHashMap<>();
  /** Each namespace's listener signal and the bound it was registered with (every shape must agree on it). */
  private final ConcurrentHashMap<String, ListenerWatch.Signal> signals = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Optional<Duration>> bounds = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<Void>> keyWaiters = new ConcurrentHashMap<>();
  private final AtomicLong connectionGeneration = new AtomicLong();
  private final ScheduledExecutorService guardian;
  private final Object stateLock = new Object();
  private volatile boolean trackingOn;
  private volatile boolean closed;
  /**
   * False after a heartbeat write failed: Redis is silent behind a live connection (paused, partitioned), or refuses
   * writes (read-only replica, OOM), so nobody's invalidations can land. Readers then bypass Redis as well as L1.
   */
  volatile boolean redisUnsafe;
  private final String heartbeatKey;
  private final long recoveryGraceNanos;
  private volatile long writableSince;
  private final long heartbeatTtlMillis;
  private volatile Set<String> trackedNamespaces = Set.of();
  private final Counter pushInvalidations;
  private final Counter flushes;
  private final Counter recoveries;
  /** The CDC listeners' progress, for namespaces that bound their staleness (R18). */
  final ListenerWatch listeners;
  /** Runs when Redis is healthy again (leaving degraded mode): the client retries its refused invalidations at once. */
  private volatile Runnable onRecovery = () -> {};

  InvalidationTracker(RedisLink link, VeracacheOptions options) {
    this.link = link;
    this.degradedTtlNanos = options.degradedL1Ttl.toNanos();
    this.listeners = new ListenerWatch(link, options);
    MeterRegistry registry = options.meterRegistry;
    String endpoint = link.endpoint();
    this.pushInvalidations = Counter.builder("veracache.l1.invalidations").tag("client", options.clientName)
        .tag("source", "push")
        .description("L1 keys dropped because Redis reported a change").register(registry);
    this.flushes = Counter.builder("veracache.l1.invalidations").tag("client", options.clientName)
        .tag("source", "flush")
        .description("L1 cleared because Redis reported a flush").register(registry);
    this.recoveries = Counter.builder("veracache.l1.invalidations").tag("client", options.clientName)
        .tag("source", "recovery")
        .description("L1 cleared on leaving degraded mode (invalidations may have been missed)").register(registry);
    Gauge.builder("veracache.degraded", this, t -> t.degraded ? 1 : 0)
        .description("1 while invalidations may be missed (Redis unreachable or tracking off): L1 serves young entries "
            + "only and misses go to the loader")
        .tag("client", options.clientName).register(registry);

    // Created before the listeners below, which hand work to it.
    this.guardian = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "veracache-tracking-" + endpoint);
      t.setDaemon(true);
      return t;
    });
    link.connection().addListener(this::onPush);
    link.client().addListener(new RedisConnectionStateListener() {
      @Override
      public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress socketAddress) {
        guardian.execute(InvalidationTracker.this::ensureTracking);
      }

      @Override
      public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
        synchronized (stateLock) {
          // Under the lock ensureTracking checks the generation in: a drop between that check and "tracking on" must
          // not be overwritten by it (tracking believed on for a connection that has none, and never re-enabled).
          connectionGeneration.incrementAndGet();
          trackingOn = false;
        }
        if (closed) {
          return;
        }
        log.warn("Redis connection to {} lost: L1 entries are trusted for at most {} until tracking is back",
            endpoint, Duration.ofNanos(degradedTtlNanos));
        // The Redis we reconnect to may have restarted from an older snapshot (R15): until tracking is back and the
        // listener has applied everything up to then, watched namespaces must not read it.
        listeners.onRedisLost();
        updateDegraded();
      }
    });
    link.breaker.getEventPublisher().onStateTransition(event -> {
      log.info("Redis circuit breaker for {}: {}", endpoint, event.getStateTransition());
      updateDegraded();
    });
    long interval = options.trackingRetryInterval.toNanos();
    guardian.scheduleWithFixedDelay(guarded("tracking", this::ensureTracking), interval, interval,
        TimeUnit.NANOSECONDS);
    this.heartbeatKey = "veracache:heartbeat:" + options.clientName;
    this.recoveryGraceNanos = options.recoveryGrace.toNanos();
    this.heartbeatTtlMillis = Math.max(1000, options.heartbeatInterval.toMillis() * 4);
    long heartbeat = options.heartbeatInterval.toNanos();
    guardian.scheduleWithFixedDelay(guarded("heartbeat", this::heartbeat), heartbeat, heartbeat,
        TimeUnit.NANOSECONDS);
  }

  /**
   * One cache of a namespace: its keys are {@code namespace:prefix<local>}; its L1 and single flight are keyed by
   * {@code <local>}. A namespace has several when a row is cached under several keys (by id, by SKU).
   */
  static final class KeyShape {
    final String namespace;
    final String prefix; // "" for the plain shape
    final L1Store store; // null when L1 is off
    final SingleFlight<?> flight;
    final ListenerWatch.Signal signal;
    private final List<KeyShape> siblings; // every shape of the namespace, this one included

    private KeyShape(String namespace, String prefix, L1Store store, SingleFlight<?> flight,
        ListenerWatch.Signal signal, List<KeyShape> siblings) {
      this.namespace = namespace;
      this.prefix = prefix;
      this.store = store;
      this.flight = flight;
      this.signal = signal;
      this.siblings = siblings;
    }

    /**
     * For the plain shape: the prefix of a sibling shape that {@code local} begins with, or null. Such a key would
     * be the sibling's Redis key as well (two value types in one record), so the plain shape refuses it.
     */
    String siblingPrefixOf(String local) {
      if (!prefix.isEmpty()) {
        return null;
      }
      for (KeyShape sibling : siblings) {
        if (!sibling.prefix.isEmpty() && local.startsWith(sibling.prefix)) {
          return sibling.prefix;
        }
      }
      return null;
    }
  }

  /**
   * Adds a cache (one key shape of a namespace), its L1 ({@code null} when L1 is off) and its single-flight table (a
   * change detaches the key's flight, so that no later read joins a load that may have read the old row); tracking is
   * re-enabled to cover the namespace before this returns (if Redis is up).
   *
   * @throws IllegalArgumentException when the namespace already has this key shape, or one that overlaps it, or its
   *     other shapes set another listener staleness bound
   */
  KeyShape register(String namespace, String prefix, L1Store store, SingleFlight<?> flight,
      Duration listenerStalenessBound) {
    KeyShape shape;
    boolean newNamespace;
    synchronized (shapes) {
      List<KeyShape> existing = shapes.get(namespace);
      newNamespace = existing == null;
      if (!newNamespace) {
        for (KeyShape other : existing) {
          if (other.prefix.equals(prefix)) {
            throw new IllegalArgumentException("a cache with namespace '" + namespace + "'" + (prefix.isEmpty()
                ? "" : " and keyPrefix '" + prefix + "'") + " already exists in this client; to cache the rows of "
                + "one namespace under another kind of key, give that cache its own CacheOptions.keyPrefix");
          }
          if (!other.prefix.isEmpty() && !prefix.isEmpty()
              && (other.prefix.startsWith(prefix) || prefix.startsWith(other.prefix))) {
            throw new IllegalArgumentException("namespace '" + namespace + "': keyPrefix '" + prefix + "' overlaps "
                + "keyPrefix '" + other.prefix + "' of another cache in this client (one begins with the other, so "
                + "their keys could be one Redis key)");
          }
        }
        Optional<Duration> bound = bounds.get(namespace);
        if (!bound.equals(Optional.ofNullable(listenerStalenessBound))) {
          throw new IllegalArgumentException("namespace '" + namespace + "': the cache with keyPrefix '" + prefix
              + "' sets listenerStalenessBound " + listenerStalenessBound + " but the namespace's other caches set "
              + bound.map(Duration::toString).orElse("none") + "; one CDC listener serves them all: give every cache "
              + "of the namespace the same bound");
        }
      }
      ListenerWatch.Signal signal = newNamespace ? listeners.watch(namespace, listenerStalenessBound)
          : signals.get(namespace);
      List<KeyShape> siblings = newNamespace ? new CopyOnWriteArrayList<>() : existing;
      shape = new KeyShape(namespace, prefix, store, flight, signal, siblings);
      siblings.add(shape);
      if (newNamespace) {
        signals.put(namespace, signal);
        bounds.put(namespace, Optional.ofNullable(listenerStalenessBound));
        shapes.put(namespace, siblings);
      }
    }
    if (!newNamespace) {
      if (!prefix.isEmpty()) {
        // Keys the plain shape cached before this shape existed may now be this shape's keys: the plain shape must
        // not serve them from L1 (it refuses to read them from now on), nor let a read in flight put them there.
        for (KeyShape sibling : shape.siblings) {
          if (sibling.prefix.isEmpty() && sibling.store != null) {
            sibling.store.invalidateStartingWith(prefix);
          }
        }
      }
      return shape; // tracking already covers the namespace's prefix
    }
    namespaces.add(namespace);
    synchronized (stateLock) {
      trackingOn = false;
      updateDegraded();
    }
    try {
      guardian.submit(this::ensureTracking).get(5, TimeUnit.SECONDS);
      if (listenerStalenessBound != null) {
        guardian.submit(listeners::poll).get(5, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      log.warn("could not enable Redis tracking for namespace '{}' yet; it will be retried", namespace);
    }
    return shape;
  }

  /** Every L1 cleared and every flight detached (leaving degraded mode, a flush). Under {@link #stateLock}. */
  private void clearEveryShape() {
    for (List<KeyShape> list : shapes.values()) {
      for (KeyShape shape : list) {
        if (shape.store != null) {
          shape.store.clear();
        }
        shape.flight.detachAll();
      }
    }
  }

  void onRecovery(Runnable action) {
    this.onRecovery = action;
  }

  /** Completes when the key changes in Redis (or on any clear); used by misses waiting for another's lease. */
  CompletableFuture<Void> awaitChange(String redisKey) {
    return keyWaiters.computeIfAbsent(redisKey, k -> new CompletableFuture<>());
  }

  void stopWaiting(String redisKey, CompletableFuture<Void> waiter) {
    keyWaiters.remove(redisKey, waiter);
  }

  /**
   * Returns once every push Redis sent before now has been handled: a PING on the tracking connection is answered
   * after them. Redis (6.2 and 7.0) does not honour NOLOOP for writes made by scripts, so this client's own fills come
   * back as pushes; tests use this to wait for them instead of sleeping.
   */
  void awaitPushesSoFar() {
    link.control(() -> link.connection().sync().ping());
  }

  /**
   * A Redis that is paused or cut off behind a live TCP connection sends no pushes and no disconnect, and one that
   * refuses writes (a read-only replica after a failover, OOM) takes nobody's invalidations while still serving old
   * values. Either way an instance reading from L1 and L2 alone would never notice. The heartbeat is a small write;
   * while it fails, reads bypass Redis and L1 serves only young entries.
   */
  private void heartbeat() {
    if (!trackingOn && !redisUnsafe) {
      return;
    }
    String failure = null;
    try {
      link.control(() -> link.connection().sync().set(heartbeatKey, HEARTBEAT_VALUE,
          io.lettuce.core.SetArgs.Builder.px(heartbeatTtlMillis)));
    } catch (L2Failure e) {
      failure = e.getMessage();
    }
    long now = System.nanoTime();
    if (failure == null) {
      listeners.poll();
    } else {
      listeners.distrustAll("Redis heartbeat failed");
    }
    if (failure != null) {
      writableSince = 0;
      if (!redisUnsafe) {
        redisUnsafe = true;
        log.warn("Redis heartbeat failed ({}): reading from the loader, L1 entries trusted for at most {}", failure,
            Duration.ofNanos(degradedTtlNanos));
        updateDegraded();
      }
      return;
    }
    if (!redisUnsafe) {
      return;
    }
    if (writableSince == 0) {
      // Redis takes writes again: let the invalidations refused meanwhile (ours, the CDC listener's) land before
      // Redis is trusted again, or a reader could still find a value they were meant to remove.
      writableSince = now;
      onRecovery.run();
    }
    // Namespaces whose CDC listener is watched need no guess: they stay untrusted until the listener has applied
    // everything up to Redis's return (ListenerWatch). The grace is for the others.
    long grace = listeners.watchesAll(namespaces) ? 0 : recoveryGraceNanos;
    if (now - writableSince >= grace) {
      redisUnsafe = false;
      updateDegraded();
    }
  }

  private static final byte[] HEARTBEAT_VALUE = {'1'};

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

  private void ensureTracking() {
    if (trackingOn && trackedNamespaces.equals(namespaces)) {
      return;
    }
    if (!link.connection().isOpen()) {
      return;
    }
    long generation = connectionGeneration.get();
    Set<String> wanted = Set.copyOf(namespaces);
    if (wanted.isEmpty()) {
      return; // tracking without a prefix would mean every key in Redis
    }
    String[] prefixes = wanted.stream().map(ns -> ns + ":").toArray(String[]::new);
    synchronized (stateLock) {
      // Between OFF and ON below, Redis sends no pushes: nothing may be trusted in that window, and whatever changed
      // in it is cleared from L1 when tracking is on again (leaving the degraded state clears every L1).
      trackingOn = false;
      updateDegraded();
    }
    try {
      link.control(() -> link.connection().sync().clientTracking(TrackingArgs.Builder.enabled(false)));
      link.control(() -> link.connection().sync()
          .clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(prefixes).noloop()));
    } catch (L2Failure e) {
      log.debug("enabling Redis tracking failed, will retry: {}", e.getMessage());
      return;
    }
    synchronized (stateLock) {
      if (connectionGeneration.get() != generation) {
        return; // the connection dropped while we were enabling; the next round starts over
      }
      trackedNamespaces = wanted;
      trackingOn = true;
      updateDegraded();
    }
    log.info("Redis tracking on for {} (prefixes {})", link.endpoint(), String.join(" ", prefixes));
  }

  private void updateDegraded() {
    synchronized (stateLock) {
      boolean nowDegraded = !trackingOn || redisUnsafe
          || link.breaker.getState() != CircuitBreaker.State.CLOSED;
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
        clearEveryShape();
        recoveries.increment();
        degraded = false;
        log.info("Redis at {} is back and tracking is on: L1 cleared, normal mode", link.endpoint());
        onRecovery.run();
      }
    }
  }

  private void onPush(PushMessage message) {
    if (!"invalidate".equals(message.getType())) {
      return;
    }
    List<Object> content = message.getContent();
    Object keys = content.size() > 1 ? content.get(1) : null;
    if (!(keys instanceof List<?> list)) {
      flushes.increment();
      synchronized (stateLock) {
        epoch++;
        clearEveryShape();
      }
      keyWaiters.forEach((k, f) -> f.complete(null));
      keyWaiters.clear();
      return;
    }
    for (Object raw : list) {
      String key = asString(raw);
      if (key != null) {
        onKeyChanged(key);
      }
    }
  }

  private void onKeyChanged(String redisKey) {
    CompletableFuture<Void> waiter = keyWaiters.remove(redisKey);
    int colon = redisKey.indexOf(':');
    List<KeyShape> list = colon > 0 ? shapes.get(redisKey.substring(0, colon)) : null;
    if (list != null) {
      String afterNamespace = redisKey.substring(colon + 1);
      boolean dropped = false;
      for (KeyShape shape : list) {
        if (!afterNamespace.startsWith(shape.prefix)) {
          continue;
        }
        String local = afterNamespace.substring(shape.prefix.length());
        shape.flight.detach(local);
        if (shape.store != null) {
          shape.store.invalidate(local);
          dropped = true;
        }
      }
      if (dropped) {
        pushInvalidations.increment();
      }
    }
    if (waiter != null) {
      waiter.complete(null);
    }
  }

  private static String asString(Object raw) {
    if (raw instanceof ByteBuffer buffer) {
      return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
    }
    if (raw instanceof byte[] bytes) {
      return new String(bytes, StandardCharsets.UTF_8);
    }
    return raw == null ? null : raw.toString();
  }

  @Override
  public void close() {
    closed = true;
    guardian.shutdownNow();
  }
}
