package dev.veracache.cdc.internal;

import dev.veracache.CacheUnavailableException;
import dev.veracache.FailureReason;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.TableMapping;
import dev.veracache.cdc.internal.Lifecycle.Phase;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.StopEngineException;
import io.micrometer.core.instrument.Counter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies each Debezium batch to Redis: row changes become key invalidations, whole-table changes namespace flushes,
 * marker rows progress; only then is the batch acknowledged. Runs on the engine thread only.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No position is acknowledged before its invalidations are in Redis</b> (R2, R6). A batch is marked processed
 *       only after Redis took all of it ({@link RedisRetry}); a crash replays from the last acknowledged position (at
 *       least once; invalidations are idempotent).</li>
 *   <li><b>Order.</b> Batches are applied one after the other, each pipelined in binlog order on one connection; a
 *       whole-table change is flushed at its place in the batch (what came before it first, the rest after).</li>
 *   <li><b>Nothing is skipped silently.</b> Unmapped tables are counted; a row that does not fit its mapping stops the
 *       listener; a whole-table change (R16) is logged and counted, flushed or (policy FAIL) stops the listener.</li>
 *   <li><b>Progress only for what Redis took</b> (R18), and never before the listener is LIVE; every applied batch
 *       checks that Redis kept what it acknowledged (R15) and a Redis that lost data is made whole first (by
 *       policy).</li>
 *   <li><b>A close ends the polling loop quietly</b> ({@link StopEngineException}) before or instead of applying:
 *       nothing of the batch is acknowledged, the next start replays it.</li>
 * </ul>
 */
public final class BatchApplier implements DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  private static final String NOT_ACKNOWLEDGED = "position not acknowledged";

  /** A mapped table changed as a whole under policy FAIL. */
  static final class WholeTableChangeException extends RuntimeException {
    WholeTableChangeException(String message) {
      super(message);
    }
  }

  private final CdcOptions options;
  private final CdcHooks hooks;
  private final ChangeEventMapper mapper;
  private final RedisInvalidator invalidator;
  private final ListenerMetrics metrics;
  private final RedisRetry retry;
  private final Lifecycle lifecycle;
  private final ReadinessProver prover;
  private final NamespaceFlush flush;
  private final ProgressPublisher progress;
  /** Engine thread only: when the previous batch was done (0 before the first), for the poll stage. */
  private long previousBatchEnd;
  /** Engine thread only: nanoseconds the batch in hand spent waiting on Redis so far. */
  private long redisNanos;

  /** {@code prover} is null in Kafka mode: marker rows are then skipped. */
  public BatchApplier(CdcOptions options, CdcHooks hooks, RedisInvalidator invalidator, ListenerMetrics metrics,
      RedisRetry retry, Lifecycle lifecycle, ReadinessProver prover, NamespaceFlush flush) {
    this.options = options;
    this.hooks = hooks;
    this.mapper = new ChangeEventMapper(options.mappings());
    this.invalidator = invalidator;
    this.metrics = metrics;
    this.retry = retry;
    this.lifecycle = lifecycle;
    this.prover = prover;
    this.flush = flush;
    this.progress = new ProgressPublisher(invalidator, options.name(), flush.namespaces());
  }

  @Override
  public void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
    if (lifecycle.isOver()) {
      throw closingStop(); // closed, or failed on another thread: nothing more is applied or acknowledged
    }
    try {
      applyBatch(records, committer);
    } catch (InterruptedException e) {
      if (lifecycle.isClosed()) {
        throw closingStop();
      }
      throw e;
    }
  }

  private StopEngineException closingStop() {
    return new StopEngineException("listener " + options.name() + (lifecycle.isClosed() ? " is closing" : " failed")
        + "; unacknowledged changes are replayed by the next start");
  }

  private void applyBatch(List<RecordChangeEvent<SourceRecord>> events,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
    List<SourceRecord> records = new ArrayList<>(events.size());
    for (RecordChangeEvent<SourceRecord> event : events) {
      records.add(event.record());
    }
    apply(records, () -> {
      for (RecordChangeEvent<SourceRecord> event : events) {
        committer.markProcessed(event);
      }
      committer.markBatchFinished();
    });
  }

  /** Stores the position of a batch whose invalidations Redis took (Debezium's offsets, or a Kafka commit). */
  @FunctionalInterface
  public interface Acknowledgement {
    void acknowledge() throws InterruptedException;
  }

  /**
   * Applies the records in their order (row changes, whole-table changes, marker rows; anything else is skipped), waits
   * until Redis took all of it, publishes progress, and only then calls {@code acknowledgement}. Throws (nothing
   * acknowledged) when the listener closes or fails meanwhile, or a row does not fit its mapping.
   */
  public void apply(List<SourceRecord> records, Acknowledgement acknowledgement) throws InterruptedException {
    long handed = System.nanoTime();
    long handedMillis = System.currentTimeMillis();
    if (previousBatchEnd != 0) {
      metrics.batchPoll.record(handed - previousBatchEnd, TimeUnit.NANOSECONDS);
    }
    redisNanos = 0;
    List<KeyInvalidation> invalidations = new ArrayList<>();
    List<KeyInvalidation> batchInvalidations = new ArrayList<>(); // every segment's, for a publish that must redo them
    long connectionChanges = invalidator.connectionChanges(); // before anything of the batch is sent
    long[] readMillis = new long[records.size()];
    int applied = 0;
    int keys = 0;
    long newestCommit = 0;
    long newestMarker = 0;
    for (SourceRecord record : records) {
      List<ChangeEventMapper.TableReset> resets = mapper.tableResets(record);
      if (!resets.isEmpty()) {
        // In binlog order: what came before is in Redis before the flush, what comes after lands after it.
        if (!invalidations.isEmpty()) {
          hooks.beforeApply(invalidations);
          keys += applyUntilTaken(invalidations);
          batchInvalidations.addAll(invalidations);
          invalidations = new ArrayList<>();
        }
        for (ChangeEventMapper.TableReset reset : resets) {
          long flushStart = System.nanoTime();
          resetTable(reset);
          redisNanos += System.nanoTime() - flushStart;
        }
        continue;
      }
      ChangeEventMapper.RowChange change = ChangeEventMapper.rowChange(record);
      if (change == null) {
        continue;
      }
      if (ReadinessProver.MARKER_TABLE.equals(change.table())) {
        if (prover != null) { // Kafka mode proves nothing by markers: another connector's, or none
          newestMarker = Math.max(newestMarker, prover.noticeMarker(change.after()));
        }
        continue;
      }
      TableMapping mapping = mapper.mappingOf(change);
      if (mapping == null) {
        metrics.eventsUnmapped.increment();
        continue;
      }
      invalidations.addAll(mapper.invalidations(change, mapping));
      if (change.readMillis() > 0) {
        if (change.commitMillis() > 0) {
          ListenerMetrics.recordMillis(metrics.eventRead, change.readMillis() - change.commitMillis());
        }
        ListenerMetrics.recordMillis(metrics.eventQueued, handedMillis - change.readMillis());
        readMillis[applied] = change.readMillis();
      }
      applied++;
      newestCommit = Math.max(newestCommit, change.commitMillis());
    }
    hooks.beforeApply(invalidations);
    keys += applyUntilTaken(invalidations);
    batchInvalidations.addAll(invalidations);
    long taken = System.nanoTime();
    long takenMillis = System.currentTimeMillis();
    hooks.afterApply(batchInvalidations);
    // Everything before the newest marker of this batch is in Redis now.
    publishProgress(newestMarker, batchInvalidations, connectionChanges);
    long progressed = System.nanoTime();
    acknowledgement.acknowledge();
    long finished = System.nanoTime();
    metrics.eventsApplied.increment(applied);
    metrics.keysInvalidated.increment(keys);
    if (newestCommit > 0) {
      metrics.lastCommitMillis.set(newestCommit);
    }
    if (applied > 0) {
      // Per change only where a change was applied: marker-only and heartbeat batches would swamp the stages.
      metrics.batchSize.record(applied);
      long redis = redisNanos; // every Redis step of the batch: its sends and any whole-table flush
      metrics.batchMap.record(Math.max(0, (taken - handed) - redis), TimeUnit.NANOSECONDS);
      metrics.batchRedis.record(redis, TimeUnit.NANOSECONDS);
      metrics.batchProgress.record(progressed - taken, TimeUnit.NANOSECONDS);
      metrics.batchOffsets.record(finished - progressed, TimeUnit.NANOSECONDS);
      for (int i = 0; i < applied; i++) {
        if (readMillis[i] > 0) {
          ListenerMetrics.recordMillis(metrics.eventApplied, takenMillis - readMillis[i]);
        }
      }
    }
    previousBatchEnd = System.nanoTime();
  }

  /** Sends the invalidations (none: nothing to do) and waits for the durability asked for; returns how many. */
  private int applyUntilTaken(List<KeyInvalidation> invalidations) throws InterruptedException {
    if (invalidations.isEmpty()) {
      return 0;
    }
    metrics.backlog.set(invalidations.size());
    long start = System.nanoTime();
    retry.untilTaken("a batch of " + invalidations.size() + " invalidations", true, NOT_ACKNOWLEDGED, () -> {
      invalidator.invalidate(invalidations);
      invalidator.awaitDurability(options.redisReplicasToAwait(), options.redisAwaitAof(),
          options.redisDurabilityTimeout());
      return null;
    });
    redisNanos += System.nanoTime() - start;
    metrics.backlog.set(0);
    return invalidations.size();
  }

  /**
   * A mapped table changed as a whole (TRUNCATE, DROP, RENAME, CREATE OR REPLACE): no row event says which keys
   * changed. FLUSH_NAMESPACES deletes every key of its namespace, retrying until Redis took it (the batch is not
   * acknowledged before); FAIL stops the listener, naming table and statement.
   */
  private void resetTable(ChangeEventMapper.TableReset reset) throws InterruptedException {
    TableMapping mapping = reset.mapping();
    String statement = reset.statement().length() > 300 ? reset.statement().substring(0, 300) + "..."
        : reset.statement();
    boolean flushIt = options.wholeTableChangePolicy() == CdcOptions.WholeTableChangePolicy.FLUSH_NAMESPACES;
    Counter counter = metrics.tableChange(mapping.table(), reset.reason(), flushIt ? "flushed" : "failed");
    if (!flushIt) {
      counter.increment();
      String message = "listener " + options.name() + ": mapped table " + mapping.table() + " changed as a whole ("
          + reset.reason() + ": " + statement + "); policy FAIL: stopping. Flush the namespace '"
          + mapping.namespace() + "', then restart with policy FLUSH_NAMESPACES (or from a new state directory)";
      log.error(message);
      throw new WholeTableChangeException(message);
    }
    log.warn("listener {}: mapped table {} changed as a whole ({}: {}): flushing namespace '{}'", options.name(),
        mapping.table(), reset.reason(), statement, mapping.namespace());
    hooks.beforeFlush(mapping.table(), reset.reason(), mapping.namespace());
    long deleted = retry.untilTaken("the flush of namespace '" + mapping.namespace() + "'", false, NOT_ACKNOWLEDGED,
        () -> invalidator.flushNamespace(mapping.namespace()));
    counter.increment();
    log.warn("listener {}: flushed namespace '{}' ({} keys) after the {} of {}", options.name(), mapping.namespace(),
        deleted, reset.reason(), mapping.table());
  }

  /**
   * After every applied batch: check that Redis kept everything acknowledged so far and advance the sequence; when the
   * batch carried a marker row (its token, else 0), also publish that every commit before it is applied, for clients.
   * Retried while Redis refuses. Nothing is checked or published before the listener is LIVE (a flush may be owed).
   *
   * <p>When a connection to Redis dropped or reconnected (or the cluster's topology changed) since the batch was sent
   * ({@code changesBefore}), or a publish attempt failed, the batch's invalidations are sent again first
   * ({@code batch}; idempotent): the Redis the sequence now goes to may have lost them since it took them (restarted
   * from a snapshot, failed over to a replica that never got them) while still holding the sequence written before
   * them, which the check would then find intact. Sent again, they are there before the sequence. A connection change
   * during that round (the re-send or the sequence's write) makes another round. Whole-table flushes of the batch are
   * not sent again.
   */
  private void publishProgress(long marker, List<KeyInvalidation> batch, long changesBefore)
      throws InterruptedException {
    long[] seen = {changesBefore};
    while (lifecycle.phase() == Phase.LIVE) {
      boolean[] attempted = {false};
      ProgressOutcome outcome = retry.untilTaken("the progress record", false, "clients that bound their staleness "
          + "stop trusting the caches meanwhile", () -> {
            while (true) {
              if (lifecycle.isClosed()) { // untilTaken turns this into the InterruptedException of a close
                throw new CacheUnavailableException("closing while the progress record was being published",
                    FailureReason.DISCONNECTED, null);
              }
              long changes = invalidator.connectionChanges();
              if ((attempted[0] || changes != seen[0]) && !batch.isEmpty()) {
                invalidator.invalidate(batch);
                invalidator.awaitDurability(options.redisReplicasToAwait(), options.redisAwaitAof(),
                    options.redisDurabilityTimeout());
                metrics.batchesResent.increment();
              }
              seen[0] = changes;
              attempted[0] = true;
              ProgressOutcome published = marker == 0 ? progress.advance()
                  : progress.publish(prover.markerLagMillis(marker));
              if (batch.isEmpty() || invalidator.connectionChanges() == changes) {
                return published;
              }
              // A connection changed while the batch was re-sent or its sequence written: the Redis that took the
              // sequence may not hold the batch. Round again: the batch, then the sequence.
            }
          });
      if (outcome != ProgressOutcome.REDIS_LOST_DATA) {
        if (marker != 0) {
          metrics.progressPublished.increment();
        }
        return;
      }
      onRedisDataLoss(); // then publish again, on a new sequence
    }
  }

  /**
   * Redis does not hold what this listener last wrote there: it restarted from an older snapshot, failed over to a
   * replica that lagged, or was flushed, so invalidations it acknowledged may be gone and old values may be back.
   * FLUSH_NAMESPACES stores the duty, flushes, and starts a new progress sequence; FAIL stops the listener.
   */
  private void onRedisDataLoss() throws InterruptedException {
    String reason = "Redis lost invalidations it had acknowledged (restarted from an older snapshot, failed over to a "
        + "lagging replica, or flushed)";
    switch (options.redisDataLossPolicy()) {
      case IGNORE -> {
        metrics.redisDataLossesIgnored.increment();
        log.error("listener {}: {}; policy IGNORE: flushing nothing, the namespaces {} may serve restored old values "
            + "until their TTL", options.name(), reason, flush.namespaces());
        progress.startOver();
      }
      case FAIL -> {
        metrics.redisDataLossesFailed.increment();
        log.error("listener {}: {}; policy FAIL: stopping. Flush the namespaces {} and start the listener again",
            options.name(), reason, flush.namespaces());
        throw new IllegalStateException("listener " + options.name() + ": " + reason);
      }
      case FLUSH_NAMESPACES -> {
        metrics.redisDataLossesFlushed.increment();
        log.error("listener {}: {}; flushing the mapped namespaces {} (not live until done)", options.name(), reason,
            flush.namespaces());
        flush.owe(reason);
        long duty = flush.dutyGeneration();
        lifecycle.move(Phase.FLUSHING, Phase.LIVE);
        if (!flush.flushAll()) {
          throw new InterruptedException("closing during the flush; the stored duty makes the next start flush");
        }
        flush.clearIfStill(duty);
        progress.startOver();
        lifecycle.move(Phase.LIVE, Phase.FLUSHING);
      }
      default -> throw new IllegalStateException("unknown policy " + options.redisDataLossPolicy());
    }
  }
}
