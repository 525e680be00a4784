package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an engine starts reading, and what is owed when invalidations may have been lost on the way there (race R6):
 * the stored position, none (a first start or a lost offset store), or one the server purged.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The duty comes before the move.</b> Without a stored position (policy FLUSH_NAMESPACES) or with a purged
 *       one (FLUSH_AND_RESTART) the flush duty is stored before an engine starts from the current position, and the
 *       purged position is deleted only after that; a listener stopped in between still owes the flush.</li>
 *   <li><b>A declared fresh install flushes nothing</b> ({@link CdcOptions.FirstStartPolicy#ASSUME_FRESH_INSTALL}):
 *       logged and counted. Only a first run is fresh: a schema history in the store (an earlier engine ran, then
 *       stopped before its first acknowledged batch, or the position was lost) makes it flush. Policy FAIL for a
 *       purged position stops the listener, naming what to do.</li>
 *   <li>A duty left by an earlier run is honoured once live, whatever the position.</li>
 *   <li><b>A stored snapshot offset is no position</b> (R6): Debezium does not resume from an offset its start-up
 *       snapshot stored but snapshots again at the current position, skipping what changed since; the flush is owed
 *       before the engine starts, whatever the first-start policy. An earlier run that crashed before its first
 *       streaming position was flushed leaves one.</li>
 * </ul>
 */
final class StartingPosition {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  /** Debezium's words for it, and MariaDB's when the stored GTID position's binlog files are gone. */
  private static final List<String> PURGED_POSITION_MESSAGES = List.of("no longer available on the server",
      "Could not find GTID state requested by slave in any binlog files");

  private final CdcOptions options;
  private final ListenerState state;
  private final NamespaceFlush flush;
  private final ListenerMetrics metrics;
  private final Lifecycle lifecycle;
  private final EngineRunner engine;

  StartingPosition(CdcOptions options, ListenerState state, NamespaceFlush flush, ListenerMetrics metrics,
      Lifecycle lifecycle, EngineRunner engine) {
    this.options = options;
    this.state = state;
    this.flush = flush;
    this.metrics = metrics;
    this.lifecycle = lifecycle;
    this.engine = engine;
  }

  /**
   * Starts the engine from the stored position. A flush duty left by an earlier run is honoured; without a stored
   * position the first-start policy decides; a stored position the server no longer has goes to the purged-position
   * policy.
   */
  void start() {
    Optional<String> owed = state.flushDuty();
    Optional<StoredPosition> stored = state.storedPosition();
    if (owed.isPresent()) {
      flush.owedFromEarlierRun(owed.get());
      log.warn("listener {}: a flush of the mapped namespaces {} is still owed from an earlier run ({}); it is done "
          + "once live", options.name(), flush.namespaces(), owed.get());
    }
    if (stored.isEmpty()) {
      startWithoutStoredPosition();
    } else if (stored.get().snapshotUnfinished()) {
      startAfterAnUnfinishedSnapshot();
    } else if (stored.get().binlogFile().isPresent()) {
      String file = stored.get().binlogFile().get();
      List<String> onServer = binlogFilesOnServer();
      if (!onServer.contains(file)) {
        onPurged("binlog file " + file + " is not on the server any more (it has " + onServer + ")", null);
        return;
      }
    }
    engine.start(flush.duty() != null);
  }

  /** A first start, or a lost position: flush once live (the duty stored first), unless a fresh install is declared. */
  private void startWithoutStoredPosition() {
    if (options.firstStartPolicy() == CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL && state.hasSchemaHistory()) {
      // A fresh install is only fresh before its first run: this one's engine ran (it stored a schema history) and
      // stopped before its first batch was acknowledged, or its position was lost since. Caches may have filled.
      String reason = oweFirstStartFlush("no stored position in " + state.describe() + " but a schema history of an "
          + "earlier run (it stopped before it stored a position, or the position was lost)");
      log.warn("listener {}: {}; ASSUME_FRESH_INSTALL only holds for a first run: starting from the current binlog "
          + "position and flushing the mapped namespaces {} once live", options.name(), reason, flush.namespaces());
      return;
    }
    if (options.firstStartPolicy() == CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL) {
      metrics.firstStartsAssumedFresh.increment();
      log.info("listener {}: no stored position in {}; policy ASSUME_FRESH_INSTALL: starting from the current binlog "
          + "position without flushing the mapped namespaces", options.name(), state.describe());
      return;
    }
    String reason = oweFirstStartFlush("no stored position in " + state.describe()
        + " (first start, or the position was lost)");
    log.warn("listener {}: {}; policy FLUSH_NAMESPACES: starting from the current binlog position and flushing the "
        + "mapped namespaces {} once live, as changes made before may never have been invalidated (declare "
        + "ASSUME_FRESH_INSTALL if nothing was cached before)", options.name(), reason, flush.namespaces());
  }

  /**
   * The stored offset is the start-up snapshot's of an earlier run that stopped before a streaming position was
   * stored: Debezium snapshots again at the current position and skips what changed since that run started, and the
   * run may have been live (caches filled): flush once live, whatever the first-start policy (a fresh install was only
   * fresh before that run).
   */
  private void startAfterAnUnfinishedSnapshot() {
    String reason = oweFirstStartFlush("the stored position in " + state.describe() + " is the start-up snapshot's "
        + "of an earlier run that stopped before it stored a streaming position; Debezium restarts from the current "
        + "binlog position");
    log.warn("listener {}: {}: flushing the mapped namespaces {} once live, as changes made since that run started "
        + "are skipped", options.name(), reason, flush.namespaces());
  }

  /**
   * A start that cannot resume where invalidations were last applied: counted, and the flush stored as owed (unless a
   * duty left by an earlier run already is) before the engine starts. Returns {@code reason}, for the log line.
   */
  private String oweFirstStartFlush(String reason) {
    metrics.firstStartsFlushed.increment();
    if (flush.duty() == null) {
      flush.owe(reason);
    }
    return reason;
  }

  private List<String> binlogFilesOnServer() {
    List<String> onServer = new ArrayList<>();
    try (Connection c = Jdbc.connect(options, options.mappings().databases().get(0));
         Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
      while (rs.next()) {
        onServer.add(rs.getString(1));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("listener " + options.name() + ": cannot check the stored position in "
          + state.describe() + " against the server: " + e.getMessage(), e);
    }
    return onServer;
  }

  /** The engine stopped (or would stop) because its position is purged: Debezium's message or error says so. */
  static boolean isPurgedPosition(String message, Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      String text = String.valueOf(t.getMessage());
      if (PURGED_POSITION_MESSAGES.stream().anyMatch(text::contains)) {
        return true;
      }
    }
    return PURGED_POSITION_MESSAGES.stream().anyMatch(String.valueOf(message)::contains);
  }

  /**
   * FLUSH_AND_RESTART: stores the flush duty, then deletes the stored position and starts a new engine from the
   * current position (in that order: a listener stopped in between still owes the flush). FAIL: stops.
   */
  void onPurged(String what, Throwable error) {
    if (options.purgedPositionPolicy() == CdcOptions.PurgedPositionPolicy.FLUSH_AND_RESTART) {
      metrics.purgedFlushed.increment();
      log.error("listener {}: its stored position was purged ({}), so invalidations were lost. Restarting from the "
          + "current position; the mapped namespaces {} will be flushed once live", options.name(), what,
          flush.namespaces());
      try {
        flush.owe("stored position purged: " + what);
        state.deleteStoredPosition();
      } catch (RuntimeException e) {
        log.error("listener {}: cannot reset its purged position: {}", options.name(), e.getMessage());
        lifecycle.fail(e);
        return;
      }
      engine.startOnEngineThread(); // after a stopped engine's task has returned
      return;
    }
    metrics.purgedFailed.increment();
    log.error("listener {}: its stored position was purged ({}); policy FAIL: stopping. Flush the namespaces {} and "
        + "delete the stored position ({}) to start over", options.name(), what, flush.namespaces(), state.describe());
    lifecycle.fail(error != null ? error : new IllegalStateException("stored binlog position purged: " + what));
  }
}
