package dev.veracache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import io.lettuce.core.SetArgs;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small periodic write ({@code SET veracache:heartbeat:<clientName>}) that proves Redis takes invalidations; on a
 * cluster, one per master (the key carries a hash tag of a slot the master serves), since each master takes the
 * invalidations of its own slots.
 *
 * <p>A Redis that is paused or cut off behind a live TCP connection sends no pushes and no disconnect, and one that
 * refuses writes (a read-only replica after a failover, OOM) takes nobody's invalidations while still serving old
 * values. Either way an instance reading from L1 and L2 alone would never notice.
 *
 * <p>Invariants:
 * <ul>
 *   <li>From the first failed heartbeat, {@code tracker.redisUnsafe} is true: reads bypass Redis, L1 serves only young
 *       entries, and watched namespaces are distrusted.</li>
 *   <li>It turns false only after Redis has taken writes again for {@code recoveryGrace} (time for the invalidations
 *       refused meanwhile to land, which are retried at once, {@code onRecovery}), or at once when every namespace's
 *       CDC listener is watched (they stay untrusted until the listener caught up, {@link ListenerWatch}).</li>
 *   <li>A successful heartbeat polls the listeners' progress; a failed one distrusts them all.</li>
 * </ul>
 */
final class Heartbeat implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);
  private static final byte[] HEARTBEAT_VALUE = {'1'};

  private final InvalidationTracker tracker;
  private final RedisLink link;
  private final ListenerWatch listeners;
  private final TrackingSubscription subscription;
  private final Ticker ticker; // the client's clock (VeracacheOptions.Builder.ticker)
  private final String heartbeatKey;
  private final long recoveryGraceNanos;
  private final long heartbeatTtlMillis;
  /** Since when Redis takes writes again after a failed heartbeat; only while {@link #writableAgain}. */
  private volatile long writableSince;
  private volatile boolean writableAgain;

  Heartbeat(InvalidationTracker tracker, RedisLink link, ListenerWatch listeners, TrackingSubscription subscription,
      VeracacheOptions options) {
    this.tracker = tracker;
    this.link = link;
    this.listeners = listeners;
    this.subscription = subscription;
    this.ticker = options.ticker;
    this.heartbeatKey = "veracache:heartbeat:" + options.clientName;
    this.recoveryGraceNanos = options.recoveryGrace.toNanos();
    this.heartbeatTtlMillis = Math.max(1000, options.heartbeatInterval.toMillis() * 4);
  }

  @Override
  public void run() {
    if (!subscription.trackingOn && !tracker.redisUnsafe) {
      return;
    }
    String failure = null;
    try {
      for (RedisLink.Node node : link.nodes()) {
        if (node.keyTag() != null) { // a master serving no slot takes no key of its own
          link.control(() -> node.connection().sync().set(heartbeatKey + node.keyTag(), HEARTBEAT_VALUE,
              SetArgs.Builder.px(heartbeatTtlMillis)));
        }
      }
    } catch (L2Failure e) {
      failure = e.getMessage();
    }
    long now = ticker.read();
    if (failure == null) {
      listeners.poll();
    } else {
      listeners.distrustAll("Redis heartbeat failed");
    }
    if (failure != null) {
      writableAgain = false;
      if (!tracker.redisUnsafe) {
        tracker.redisUnsafe = true;
        log.warn("Redis heartbeat failed ({}): reading from the loader, L1 entries trusted for at most {}", failure,
            Duration.ofNanos(tracker.degradedTtlNanos));
        tracker.updateDegraded();
      }
      return;
    }
    if (!tracker.redisUnsafe) {
      return;
    }
    if (!writableAgain) {
      // Redis takes writes again: let the invalidations refused meanwhile (ours, the CDC listener's) land before
      // Redis is trusted again, or a reader could still find a value they were meant to remove.
      writableSince = now;
      writableAgain = true;
      tracker.recovering();
    }
    // Namespaces whose CDC listener is watched need no guess: they stay untrusted until the listener has applied
    // everything up to Redis's return (ListenerWatch). The grace is for the others.
    long grace = listeners.watchesAll(subscription.namespaces()) ? 0 : recoveryGraceNanos;
    if (now - writableSince >= grace) {
      tracker.redisUnsafe = false;
      tracker.updateDegraded();
    }
  }
}
