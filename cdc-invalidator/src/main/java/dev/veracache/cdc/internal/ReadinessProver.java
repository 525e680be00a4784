package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.internal.Lifecycle.Phase;
import dev.veracache.cdc.testing.CdcHooks;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.connect.data.Struct;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves that the listener sees new commits, with marker rows written to the captured database and read back through
 * the binlog; then keeps writing markers for the progress signal (race R18).
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Live means proven.</b> Debezium reports its task started before it reads new commits, so the listener
 *       leaves PROVING only when a readiness marker written after the engine started came back ({@link #noticeMarker});
 *       when a flush is owed it is done before LIVE (FLUSHING).</li>
 *   <li><b>A marker's token is the time it was written</b> (this JVM's clock, ms, strictly increasing): when the row
 *       comes back, every commit before that time has been read. Its lag is taken by the monotonic clock when this run
 *       wrote it (a wall-clock step must not make the listener look more current than it is).</li>
 *   <li><b>One prover thread, one proof per engine</b>: each engine start queues its own proof (with its own
 *       {@code flushWhenLive}); the previous proof ends at its next check, so it never proves, or skips the flush of,
 *       the next engine. A hook that throws fails the listener (it does not leave it starting for ever).</li>
 * </ul>
 */
public final class ReadinessProver {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  /** The marker table, in the first mapped database. */
  public static final String MARKER_TABLE = "veracache_cdc_marker";
  private static final Duration READINESS_MARKER_INTERVAL = Duration.ofMillis(200);

  private final CdcOptions options;
  private final CdcHooks hooks;
  private final Lifecycle lifecycle;
  private final NamespaceFlush flush;
  private final String markerDatabase;
  private final ExecutorService thread;
  /** The readiness marker the current proof waits for. */
  private final AtomicLong readinessToken = new AtomicLong();
  /** The proof of the newest engine; an older proof still running ends at its next check. */
  private final AtomicInteger currentProof = new AtomicInteger();
  /** The newest marker token handed out. */
  private final AtomicLong lastToken = new AtomicLong();
  /** When this run wrote each marker still expected back, by the monotonic clock. */
  private final ConcurrentSkipListMap<Long, Long> writtenNanos = new ConcurrentSkipListMap<>();

  public ReadinessProver(CdcOptions options, CdcHooks hooks, Lifecycle lifecycle, NamespaceFlush flush) {
    this.options = options;
    this.hooks = hooks;
    this.lifecycle = lifecycle;
    this.flush = flush;
    this.markerDatabase = options.mappings().databases().get(0);
    this.thread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-prover-" + options.name());
      t.setDaemon(true);
      return t;
    });
  }

  /** Creates the marker table if needed. */
  public void createMarkerTable() throws SQLException {
    try (Connection c = Jdbc.connect(options, markerDatabase); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + MARKER_TABLE
          + " (listener VARCHAR(64) PRIMARY KEY, token BIGINT NOT NULL)");
    }
  }

  /** A new engine is about to start: the proof of the previous one (if still running) ends at its next check. */
  int beginProof() {
    return currentProof.incrementAndGet();
  }

  /** Queues the proof of a just-started engine (phase PROVING), after the previous one ended. */
  void proveAfterStart(int proof, boolean flushWhenLive) {
    thread.execute(() -> prove(proof, flushWhenLive));
  }

  /**
   * Writes a readiness marker every 200 ms until one comes back; then, when a flush is owed, flushes the mapped
   * namespaces and clears the stored duty; then LIVE, and a progress marker every {@code progressInterval} while this
   * engine streams.
   */
  private void prove(int proof, boolean flushWhenLive) {
    try {
      while (true) {
        CompletableFuture<Void> changed = lifecycle.changed();
        if (lifecycle.phase() != Phase.PROVING || proof != currentProof.get()) {
          break;
        }
        readinessToken.set(writeMarker("readiness"));
        Lifecycle.await(changed, READINESS_MARKER_INTERVAL);
      }
      if (lifecycle.phase() == Phase.FLUSHING && proof == currentProof.get()) {
        if (flushWhenLive) {
          long duty = flush.dutyGeneration();
          hooks.beforeFlush(flush.namespaces());
          if (!flush.flushAll()) {
            return; // closing: the duty stays stored, the next start flushes
          }
          if (proof != currentProof.get()) {
            return; // a restarted engine overtook this proof: its own proof flushes and clears its duty
          }
          flush.clearIfStill(duty);
        }
        lifecycle.move(Phase.LIVE, Phase.FLUSHING);
      }
      // From now on a marker every progressInterval: when one comes back and everything before it is in Redis, the
      // listener publishes that progress for clients (BatchApplier). Ends when this engine stops (a restarted engine
      // runs its own proof).
      while (true) {
        CompletableFuture<Void> changed = lifecycle.changed();
        if (!streaming(proof)) {
          return;
        }
        Lifecycle.await(changed, options.progressInterval());
        if (streaming(proof)) {
          writeMarker("progress");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // close() interrupts: the duty, if any, stays stored
    } catch (RuntimeException e) {
      log.error("listener {}: stopping, the start-up thread failed: {}", options.name(), e.toString());
      lifecycle.fail(e);
    }
  }

  /** The engine of this proof streams (FLUSHING or LIVE) and no newer engine started. */
  private boolean streaming(int proof) {
    Phase phase = lifecycle.phase();
    return (phase == Phase.FLUSHING || phase == Phase.LIVE) && proof == currentProof.get();
  }

  /**
   * Writes this listener's marker row with a new token. Returns the token; a failed write is logged and returns it all
   * the same (its row never comes back).
   */
  long writeMarker(String purpose) {
    long token = lastToken.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis()));
    writtenNanos.put(token, System.nanoTime());
    try (Connection c = Jdbc.connect(options, markerDatabase); PreparedStatement ps = c.prepareStatement(
        "REPLACE INTO " + MARKER_TABLE + " (listener, token) VALUES (?, ?)")) {
      ps.setString(1, options.name());
      ps.setLong(2, token);
      ps.executeUpdate();
    } catch (SQLException e) {
      log.warn("listener {}: cannot write the {} marker: {}", options.name(), purpose, e.getMessage());
    }
    return token;
  }

  /**
   * A marker row came back: the readiness marker moves PROVING to FLUSHING. Returns the token (the time the row was
   * written) when it is this listener's marker, for the progress it proves; 0 otherwise.
   */
  long noticeMarker(Struct after) {
    if (after == null || !options.name().equals(after.getString("listener"))) {
      return 0;
    }
    long token = after.getInt64("token");
    if (token == readinessToken.get() && lifecycle.move(Phase.FLUSHING, Phase.PROVING)) {
      log.info("listener {} is live: its marker came back through the binlog", options.name());
    }
    return token;
  }

  /**
   * How long ago the marker was written, by the monotonic clock when this run wrote it; by the wall clock for a marker
   * of an earlier run (replayed).
   */
  long markerLagMillis(long token) {
    Long written = writtenNanos.get(token);
    writtenNanos.headMap(token, true).clear(); // this one and older ones will not come back again
    if (written == null) {
      return Math.max(0, System.currentTimeMillis() - token);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - written);
  }

  /** Interrupts the proof: a flush in progress ends with its duty stored. */
  void interrupt() {
    thread.shutdownNow();
  }

  /** Waits (5 s at most) for the interrupted proof to end. */
  void awaitStopped() throws InterruptedException {
    if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
      log.warn("listener {}: start-up thread still running after 5 s", options.name());
    }
  }
}
