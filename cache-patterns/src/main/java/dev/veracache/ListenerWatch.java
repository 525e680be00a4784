package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the progress the CDC listeners publish in Redis ({@code veracache:progress:<namespace>}, written by
 * {@code RedisInvalidator.publishProgress}) for the namespaces that set {@code listenerStalenessBound}, and tells each
 * such cache whether it may trust Redis and L1 (race R18: a dead, stalled or lagging listener must not leave readers
 * trusting caches for as long as the outage lasts).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>A watched namespace is trusted only while its listener is known to be at most {@code bound} behind</b>: the
 *       newest poll saw a progress record whose age (Redis clock against Redis clock, so no clock of ours counts) is
 *       within the bound. No record, or a failed poll (or a failed heartbeat), means untrusted.</li>
 *   <li><b>From the moment the connection is lost</b> ({@link #onRedisLost}) <b>until Redis came back</b>
 *       ({@link #onRedisRecovered}, called before the client leaves the degraded state), every watched namespace is
 *       untrusted whatever the polls read, and after that until its listener has published progress past the first
 *       poll after the recovery: it has applied everything committed up to then, and a listener that found Redis came
 *       back with old data has flushed the namespace before publishing. This holds for a cache created in that gap
 *       too: it starts out waiting for Redis like the others ({@link #redisLost}).</li>
 *   <li><b>On a cluster, a cache created while Redis is up waits for progress past its first poll</b> too: a loss on
 *       one master leaves the progress hash on another fresh (see {@link #watch}). The listener stamps that hash with
 *       its master's clock read before its sequence check, so progress never passes a mark taken after a loss the
 *       check missed.</li>
 *   <li>Untrusted reads bypass Redis and L1 serves only entries younger than the bound (see
 *       {@code DefaultTieredCache}); every change of trust is logged.</li>
 * </ul>
 */
final class ListenerWatch {

  private static final Logger log = LoggerFactory.getLogger(ListenerWatch.class);
  /** How far in the future of Redis's clock published progress may lie and still count (clock steps, rounding). */
  static final long CLOCK_TOLERANCE_MILLIS = 1000;
  /** {@code mustReachRedisMillis} while the connection is lost: no progress is enough until Redis is back. */
  private static final long UNTIL_RECOVERED = Long.MAX_VALUE;

  /** One cache's view of its listener; read on every read of that cache. */
  static final class Signal {
    static final Signal UNWATCHED = new Signal(null, 0);

    final String namespace;
    final long boundNanos;
    private final long boundMillis;
    /** True while reads must not trust Redis, and L1 only for entries younger than the bound. */
    volatile boolean untrusted;
    /** Listener staleness at the last poll in ms, or -1 when unknown. */
    volatile long stalenessMillis = -1;
    /** Redis time the listener must have applied up to before trust returns; 0 when none is pending. */
    private long mustReachRedisMillis;
    private boolean markAtNextPoll;

    private Signal(String namespace, long boundNanos) {
      this.namespace = namespace;
      this.boundNanos = boundNanos;
      this.boundMillis = boundNanos / 1_000_000;
      this.untrusted = namespace != null;
    }
  }

  private final FenceProtocol fence;
  private final MeterRegistry registry;
  private final String clientName;
  private final Map<String, Signal> signals = new ConcurrentHashMap<>();
  /**
   * True from {@link #onRedisLost} to {@link #onRedisRecovered}. Read and written under {@code this}, with the
   * creation of a signal: a cache created in the gap must not miss the loss and trust the first fresh poll.
   */
  private boolean redisLost;

  ListenerWatch(RedisLink link, VeracacheOptions options) {
    this.fence = new FenceProtocol(link);
    this.registry = options.meterRegistry;
    this.clientName = options.clientName;
  }

  /**
   * The signal for a new cache: untrusted until the first poll says otherwise. On a cluster, until the listener has
   * published progress past that first poll: a failover that lost invalidations on one master (which this client may
   * have recovered from before the cache existed) leaves the namespace's progress hash on another master fresh, and
   * only the listener's next check finds the loss. On one Redis such a loss takes the hash with it.
   */
  Signal watch(String namespace, java.time.Duration bound) {
    if (bound == null) {
      return Signal.UNWATCHED;
    }
    Signal signal = new Signal(namespace, bound.toNanos());
    synchronized (this) {
      if (redisLost) {
        signal.mustReachRedisMillis = UNTIL_RECOVERED;
      } else if (fence.progressPerNamespace()) {
        signal.markAtNextPoll = true;
      }
      signals.put(namespace, signal);
    }
    log.info("cache '{}' trusts Redis and L1 only while its CDC listener is at most {} behind{}", namespace, bound,
        fence.progressPerNamespace() ? ", from the listener's first progress after now" : "");
    Gauge.builder("veracache.listener.staleness", signal, s -> s.stalenessMillis).tag("client", clientName)
        .tag("cache", namespace).baseUnit("milliseconds")
        .description("How far behind the CDC listener of this namespace is, by its own published progress; -1 unknown")
        .register(registry);
    Gauge.builder("veracache.listener.untrusted", signal, s -> s.untrusted ? 1 : 0).tag("client", clientName)
        .tag("cache", namespace)
        .description("1 while reads of this namespace bypass Redis because its CDC listener is too far behind")
        .register(registry);
    return signal;
  }

  boolean watches(String namespace) {
    return signals.containsKey(namespace);
  }

  boolean watchesAll(java.util.Set<String> namespaces) {
    return !namespaces.isEmpty() && signals.keySet().containsAll(namespaces);
  }

  java.util.Optional<java.time.Duration> staleness(String namespace) {
    Signal signal = signals.get(namespace);
    return signal == null || signal.stalenessMillis < 0 ? java.util.Optional.empty()
        : java.util.Optional.of(java.time.Duration.ofMillis(signal.stalenessMillis));
  }

  boolean untrusted(String namespace) {
    Signal signal = signals.get(namespace);
    return signal != null && signal.untrusted;
  }

  /**
   * The connection to Redis was lost: distrust every watched namespace at once, and keep distrusting it whatever the
   * progress polls say until {@link #onRedisRecovered} and the listener's progress past that moment. Without this,
   * reads in the gap between a reconnect and tracking coming back would read whatever the Redis reconnected to holds:
   * after a restart from an older snapshot, values the listener had invalidated (R15).
   */
  synchronized void onRedisLost() {
    redisLost = true;
    for (Signal signal : signals.values()) {
      synchronized (signal) {
        signal.markAtNextPoll = false;
        signal.mustReachRedisMillis = UNTIL_RECOVERED;
        setTrust(signal, false, "the connection to Redis was lost: waiting for it to come back and for the CDC "
            + "listener to apply everything up to then");
      }
    }
  }

  /** Redis is back after the client may have missed invalidations: distrust until the listener catches up. */
  synchronized void onRedisRecovered() {
    redisLost = false;
    for (Signal signal : signals.values()) {
      synchronized (signal) {
        signal.markAtNextPoll = true;
        setTrust(signal, false, "Redis came back: waiting for the CDC listener to apply everything up to now");
      }
    }
  }

  /**
   * Reads every watched namespace's progress in one script call (on a cluster one call per namespace, each hash in its
   * own slot, each compared with its own master's clock); on failure the namespaces read become untrusted.
   */
  void poll() {
    if (signals.isEmpty()) {
      return;
    }
    List<Signal> watched = new ArrayList<>(signals.values());
    if (fence.progressPerNamespace()) {
      for (Signal signal : watched) {
        poll(List.of(signal));
      }
    } else {
      poll(watched);
    }
  }

  private void poll(List<Signal> watched) {
    FenceProtocol.Progress progress;
    try {
      progress = fence.progress(watched.stream().map(s -> s.namespace).toList());
    } catch (L2Failure e) {
      for (Signal signal : watched) {
        synchronized (signal) {
          signal.stalenessMillis = -1;
          setTrust(signal, false, "its progress cannot be read: " + e.getMessage());
        }
      }
      return;
    }
    long redisNow = progress.redisNowMillis();
    for (int i = 0; i < watched.size(); i++) {
      Signal signal = watched.get(i);
      long safeThrough = progress.safeThroughMillis().get(i);
      synchronized (signal) {
        if (signal.markAtNextPoll) {
          signal.markAtNextPoll = false;
          signal.mustReachRedisMillis = redisNow;
        }
        if (safeThrough < 0) {
          signal.stalenessMillis = -1;
          setTrust(signal, false, "no CDC listener has published progress for it");
          continue;
        }
        if (safeThrough > redisNow + CLOCK_TOLERANCE_MILLIS) {
          // Progress from the future: stamped by a Redis whose clock ran ahead (a failover to another machine) or
          // written by hand. It proves nothing about now.
          signal.stalenessMillis = -1;
          setTrust(signal, false, "its published progress lies " + (safeThrough - redisNow) + " ms in the future of "
              + "Redis's clock");
          continue;
        }
        long staleness = Math.max(0, redisNow - safeThrough);
        signal.stalenessMillis = staleness;
        if (signal.mustReachRedisMillis != 0) {
          if (safeThrough < signal.mustReachRedisMillis) {
            setTrust(signal, false, signal.mustReachRedisMillis == UNTIL_RECOVERED ? "waiting for Redis to come back"
                : "waiting for the CDC listener to apply everything up to Redis's return");
            continue;
          }
          signal.mustReachRedisMillis = 0;
        }
        setTrust(signal, staleness <= signal.boundMillis, "its CDC listener is " + staleness + " ms behind (bound "
            + signal.boundMillis + " ms)");
      }
    }
  }

  /** Called when polls stopped coming (Redis unreachable): nothing watched can be trusted. */
  void distrustAll(String why) {
    for (Signal signal : signals.values()) {
      synchronized (signal) {
        setTrust(signal, false, why);
      }
    }
  }

  private static void setTrust(Signal signal, boolean trusted, String why) {
    if (signal.untrusted == !trusted) {
      return;
    }
    signal.untrusted = !trusted;
    if (trusted) {
      log.info("cache '{}' trusts Redis and L1 again: {}", signal.namespace, why);
    } else {
      log.warn("cache '{}' bypasses Redis, and serves L1 entries younger than {} ms only: {}", signal.namespace,
          signal.boundMillis, why);
    }
  }
}
