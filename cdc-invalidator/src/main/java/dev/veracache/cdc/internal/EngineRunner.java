package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.internal.Lifecycle.Phase;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the Debezium engine on the listener's engine thread: starts it from the right position, reacts when it stops,
 * and stops it on close.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The engine reference is safely published</b> ({@code volatile}): a purged position starts a new engine on
 *       the engine thread, and {@link #close()} reads it on the caller's.</li>
 *   <li><b>An engine starts only from STARTING</b> (moving to PROVING): a listener closed or failed meanwhile starts
 *       none.</li>
 *   <li><b>An engine that stops by itself is never ignored</b>: a purged position goes to its policy (R6), anything
 *       else fails the listener with Debezium's message, passwords masked ({@link Secrets}).</li>
 *   <li><b>A close stops the polling loop quietly</b>: a marker row brings a batch at once, which ends the loop
 *       ({@link BatchApplier}); only if that does not happen within {@link #CLOSE_DRAIN_TIMEOUT} (the database is
 *       unreachable) is the engine closed under its loop.</li>
 * </ul>
 */
public final class EngineRunner {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  /** How long a close waits for the polling loop to end by itself before closing the engine under it. */
  static final Duration CLOSE_DRAIN_TIMEOUT = Duration.ofSeconds(10);

  private final CdcOptions options;
  private final Lifecycle lifecycle;
  private final BatchApplier applier;
  private final ReadinessProver prover;
  private final StartingPosition position;
  private final ExecutorService engineThread;
  private volatile DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
  /** Counted down by the completion callback of the current engine (a purged position starts a new engine). */
  private volatile CountDownLatch engineFinished = new CountDownLatch(0);

  public EngineRunner(CdcOptions options, ListenerState state, NamespaceFlush flush, ListenerMetrics metrics,
      Lifecycle lifecycle, BatchApplier applier, ReadinessProver prover) {
    this.options = options;
    this.lifecycle = lifecycle;
    this.applier = applier;
    this.prover = prover;
    this.position = new StartingPosition(options, state, flush, metrics, lifecycle, this);
    this.engineThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-" + options.name());
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts the engine from the stored position (see {@link StartingPosition}). */
  public void startFromStoredPosition() {
    position.start();
  }

  void start(boolean flushWhenLive) {
    int proof = prover.beginProof();
    if (!lifecycle.move(Phase.PROVING, Phase.STARTING)) {
      return; // closed or failed meanwhile
    }
    DebeziumEngine<RecordChangeEvent<SourceRecord>> started = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
        .using(DebeziumConfiguration.of(options))
        .notifying(applier)
        .using(this::engineStopped)
        .build();
    engineFinished = new CountDownLatch(1);
    engine = started;
    engineThread.execute(started);
    prover.proveAfterStart(proof, flushWhenLive);
    log.info("listener {} started on {}:{} ({}), capturing {}", options.name(), options.host(), options.port(),
        options.connector(), options.mappings().databases());
  }

  /** After a purged position: a new engine, once the stopped engine's task has returned. */
  void startOnEngineThread() {
    engineThread.execute(() -> {
      try {
        start(true);
      } catch (RuntimeException e) {
        log.error("listener {}: cannot start a new engine: {}", options.name(), Secrets.mask(e.getMessage()));
        lifecycle.fail(e);
      }
    });
  }

  private void engineStopped(boolean success, String message, Throwable error) {
    engineFinished.countDown();
    if (success || lifecycle.isClosed()) {
      return;
    }
    lifecycle.move(Phase.STARTING, Phase.PROVING, Phase.FLUSHING, Phase.LIVE);
    if (StartingPosition.isPurgedPosition(message, error)) {
      position.onPurged(message, error);
      return;
    }
    // Debezium puts its whole configuration, passwords included, into some of these messages: mask before logging.
    String safeMessage = Secrets.mask(message);
    Throwable root = error == null ? null : error.getCause() != null ? error.getCause() : error;
    String cause = root == null ? "" : Secrets.mask(String.valueOf(root));
    log.error("listener {} stopped: {} ({})", options.name(), safeMessage, cause);
    lifecycle.fail(new IllegalStateException(safeMessage + (cause.isEmpty() ? "" : " (" + cause + ")")));
  }

  /**
   * Stops the engine (the lifecycle is CLOSED already: the next batch ends the polling loop), interrupts the prover,
   * and waits for both threads. Changes read but not acknowledged are replayed by the next start.
   */
  public void close() {
    try {
      DebeziumEngine<RecordChangeEvent<SourceRecord>> running = engine;
      // Also when the listener failed: a failure on the start-up thread (the proof, the owed flush) leaves the engine
      // streaming, holding its binlog connection, server id and offsets until stopped here.
      if (running != null && !stopPollingQuietly()) {
        running.close();
      }
    } catch (IOException | IllegalStateException e) {
      log.warn("listener {}: engine did not close cleanly: {}", options.name(), e.getMessage());
    } finally {
      prover.interrupt();
      engineThread.shutdown();
      try {
        if (!engineThread.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("listener {}: engine thread still running after 30 s", options.name());
        }
        prover.awaitStopped();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** True when the engine finished by itself within {@link #CLOSE_DRAIN_TIMEOUT}; a marker row brings a batch. */
  private boolean stopPollingQuietly() {
    CountDownLatch finished = engineFinished;
    if (finished.getCount() == 0) {
      return true;
    }
    prover.writeMarker("close");
    try {
      if (finished.await(CLOSE_DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.info("listener {}: the engine did not stop by itself within {}; closing it", options.name(),
        CLOSE_DRAIN_TIMEOUT);
    return false;
  }
}
