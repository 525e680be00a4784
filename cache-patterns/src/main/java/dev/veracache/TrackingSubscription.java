package dev.veracache;

import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushMessage;
import io.micrometer.core.instrument.Counter;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tracking subscription of the one connection (on a Redis Cluster, of each master's connection): RESP3 client
 * tracking in broadcast mode ({@code CLIENT TRACKING ON BCAST PREFIX ns: ... NOLOOP}), and the pushes it brings.
 *
 * <p>NOLOOP spares the pushes of this client's own plain writes only: writes made inside Lua scripts are pushed back
 * to the client that ran the script, on Redis 6.2 and 7.0 alike (redis/redis#11052; pinned by
 * {@code NoloopScriptWritesIT}). Every fence write is a script, so this client hears its own fills and
 * invalidations. An invalidation too many is always safe; for its own fills and sets, {@link OwnWriteRereads} re-reads the
 * value into L1 after the push, so that they stay in L1 without a push ever being trusted.
 *
 * <p>Why broadcast: in default mode Redis forgets a key for a client once it has sent one invalidation, so a fill
 * after a miss would leave an untracked L1 entry. Broadcast notifies every change under the prefixes, whoever made it
 * (another instance, the CDC listener, {@code redis-cli}).
 *
 * <p>Invariants:
 * <ul>
 *   <li>Tracking is (re)enabled as OFF then ON with every prefix, and only counts for the connection generation it was
 *       sent on: a reply that raced a disconnect does not mark the new connection tracked.</li>
 *   <li>{@link #trackingOn} is false from a disconnect until tracking covers every namespace on the current
 *       connection; the tracker is degraded meanwhile, and leaving that state clears every L1.</li>
 *   <li>A namespace added while tracking is on gets its prefix added to the subscription, with no OFF in between: the
 *       namespaces already tracked lose no push, so their L1s are kept. No cache of the new namespace is handed out
 *       before its prefix is tracked ({@link #covers}); if that fails or takes too long, tracking is off
 *       ({@link #coverageFailed}) until a full re-enable covers every namespace.</li>
 *   <li>A push with no keys (FLUSHALL, FLUSHDB, a tracking-table overflow) clears every L1 and wakes every waiter.</li>
 *   <li>On a cluster, tracking is on only when every master of the topology (those serving no slot too) and every
 *       other open routing connection (a node reached by {@code MOVED} or {@code ASK}) has it, all switched on within
 *       one connection generation. Any connect or disconnect of a routing connection (a new master
 *       after a failover, a node reached for the first time by a MOVED or an ASK) ends that generation synchronously,
 *       on Lettuce's thread before a command is written on the new connection; a topology change Lettuce reads ends it
 *       too, asynchronously (Lettuce publishes the event after it switched its routing). Tracking is then off
 *       (degraded) until it is switched on again everywhere, and L1 starts over.</li>
 * </ul>
 */
final class TrackingSubscription {

  private static final Logger log = LoggerFactory.getLogger(TrackingSubscription.class);

  private final InvalidationTracker tracker;
  private final RedisLink link;
  private final KeyShapes shapes;
  private final KeyWaiters waiters;
  /** Every cache's namespace is tracked (pushes also wake misses waiting for a lease); L1s only where enabled. */
  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();
  private final AtomicLong connectionGeneration = new AtomicLong();
  private final Counter pushInvalidations;
  private final Counter flushes;
  volatile boolean trackingOn;
  private volatile Set<String> trackedNamespaces = Set.of();

  TrackingSubscription(InvalidationTracker tracker, RedisLink link, KeyShapes shapes, KeyWaiters waiters,
      Counter pushInvalidations, Counter flushes) {
    this.tracker = tracker;
    this.link = link;
    this.shapes = shapes;
    this.waiters = waiters;
    this.pushInvalidations = pushInvalidations;
    this.flushes = flushes;
  }

  /** Listens to pushes, to the connection's drops and reconnects and, on a cluster, to topology changes. */
  void start() {
    link.addPushListener(this::onPush);
    link.addConnectionListener(new RedisConnectionStateListener() {
      @Override
      public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress socketAddress) {
        if (link.isCluster()) {
          // A routing connection opened: a new master's, or a node's reached by a MOVED. Commands may go there before
          // its tracking is on.
          onDisconnected();
        }
        tracker.execute(TrackingSubscription.this::ensureTracking);
      }

      @Override
      public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
        onDisconnected();
      }
    });
    link.onTopologyChange(() -> {
      onDisconnected(); // a master may have changed: its tracking, and what its replica never got, are unknown
      tracker.execute(this::ensureTracking);
    });
  }

  Set<String> namespaces() {
    return namespaces;
  }

  /**
   * A namespace to track (idempotent); the caller then runs {@link #ensureTracking} and hands out no cache of the
   * namespace before {@link #covers} says so, or calls {@link #coverageFailed}.
   */
  void add(String namespace) {
    namespaces.add(namespace);
  }

  /** Whether pushes of the namespace's keys reach this client now. */
  boolean covers(String namespace) {
    return trackingOn && trackedNamespaces.contains(namespace);
  }

  /**
   * A namespace could not be covered in time: its cache is handed out anyway, so distrust every L1 (degraded) until a
   * full re-enable covers every namespace.
   */
  void coverageFailed() {
    synchronized (tracker.stateLock) {
      trackingOn = false;
      tracker.updateDegraded();
    }
  }

  private void onDisconnected() {
    synchronized (tracker.stateLock) {
      // Under the lock ensureTracking checks the generation in: a drop between that check and "tracking on" must
      // not be overwritten by it (tracking believed on for a connection that has none, and never re-enabled).
      connectionGeneration.incrementAndGet();
      trackingOn = false;
    }
    tracker.connectionLost();
  }

  void ensureTracking() {
    if (trackingOn && trackedNamespaces.equals(namespaces)) {
      return;
    }
    // Taken before the connections are listed: one that opens after the list was made must end this round, else
    // tracking would be on without it.
    long generation = connectionGeneration.get();
    List<RedisLink.Node> nodes;
    List<StatefulRedisConnection<String, byte[]>> connections;
    try {
      nodes = link.nodes(); // may open a master's routing connection: its connect event ends this round
      connections = link.trackingConnections();
    } catch (L2Failure e) {
      log.debug("reading the Redis nodes failed, will retry: {}", e.getMessage());
      return;
    }
    if (nodes.isEmpty() || !nodes.stream().allMatch(node -> node.connection().isOpen())) {
      return;
    }
    if (trackingOn && extendTracking(generation, nodes, connections)) {
      return;
    }
    Set<String> wanted = Set.copyOf(namespaces);
    if (wanted.isEmpty()) {
      return; // tracking without a prefix would mean every key in Redis
    }
    String[] prefixes = wanted.stream().map(ns -> ns + ":").toArray(String[]::new);
    synchronized (tracker.stateLock) {
      // Between OFF and ON below, Redis sends no pushes: nothing may be trusted in that window, and whatever changed
      // in it is cleared from L1 when tracking is on again (leaving the degraded state clears every L1).
      trackingOn = false;
      tracker.updateDegraded();
    }
    try {
      for (StatefulRedisConnection<String, byte[]> connection : connections) {
        link.control(() -> connection.sync().clientTracking(TrackingArgs.Builder.enabled(false)));
        link.control(() -> connection.sync()
            .clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(prefixes).noloop()));
      }
    } catch (L2Failure e) {
      log.debug("enabling Redis tracking failed, will retry: {}", e.getMessage());
      return;
    }
    synchronized (tracker.stateLock) {
      if (connectionGeneration.get() != generation) {
        return; // the connection dropped while we were enabling; the next round starts over
      }
      trackedNamespaces = wanted;
      if (!wanted.containsAll(namespaces)) {
        // A namespace was added meanwhile, and its cache may have been handed out (coverageFailed): tracking stays off
        // until a round covers it (its register queued one).
        return;
      }
      trackingOn = true;
      tracker.updateDegraded();
    }
    log.info("Redis tracking on for {} (prefixes {})", endpoints(nodes), String.join(" ", prefixes));
  }

  /**
   * Tracking is on and namespaces were added: adds their prefixes to the broadcast subscription (a second
   * {@code CLIENT TRACKING ON BCAST PREFIX ...} adds prefixes) without switching tracking off, so the namespaces
   * already tracked lose no push and no L1 is cleared. True when every namespace is covered now; false (the caller then
   * switches tracking off and on with every prefix) when Redis refused, or tracking was lost meanwhile.
   */
  private boolean extendTracking(long generation, List<RedisLink.Node> nodes,
      List<StatefulRedisConnection<String, byte[]>> connections) {
    Set<String> wanted = Set.copyOf(namespaces);
    Set<String> covered = trackedNamespaces;
    String[] added = wanted.stream().filter(ns -> !covered.contains(ns)).map(ns -> ns + ":").toArray(String[]::new);
    if (added.length > 0) {
      try {
        for (StatefulRedisConnection<String, byte[]> connection : connections) {
          link.control(() -> connection.sync()
              .clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(added).noloop()));
        }
      } catch (L2Failure e) {
        log.debug("adding tracking prefixes failed, re-enabling tracking: {}", e.getMessage());
        return false;
      }
    }
    synchronized (tracker.stateLock) {
      if (connectionGeneration.get() != generation || !trackingOn) {
        return false; // the connection dropped (or coverage failed) meanwhile: start over with every prefix
      }
      trackedNamespaces = wanted;
    }
    log.info("Redis tracking on for {} now covers {}", endpoints(nodes), String.join(" ", added));
    return true;
  }

  /** The endpoints of the nodes, for logs: host and port only. */
  private static String endpoints(List<RedisLink.Node> nodes) {
    return nodes.stream().map(RedisLink.Node::endpoint).collect(java.util.stream.Collectors.joining(", "));
  }

  private void onPush(PushMessage message) {
    if (!"invalidate".equals(message.getType())) {
      return;
    }
    List<Object> content = message.getContent();
    Object keys = content.size() > 1 ? content.get(1) : null;
    if (!(keys instanceof List<?> list)) {
      flushes.increment();
      tracker.everythingChanged();
      waiters.everythingChanged();
      return;
    }
    for (Object raw : list) {
      String key = asString(raw);
      if (key != null) {
        if (shapes.changed(key)) {
          pushInvalidations.increment();
        }
        waiters.changed(key);

      }
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
}
