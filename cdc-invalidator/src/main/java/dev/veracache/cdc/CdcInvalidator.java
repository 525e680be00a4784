package dev.veracache.cdc;

import dev.veracache.CacheUnavailableException;
import dev.veracache.cdc.internal.BatchApplier;
import dev.veracache.cdc.internal.EngineRunner;
import dev.veracache.cdc.internal.KafkaRunner;
import dev.veracache.cdc.internal.Lifecycle;
import dev.veracache.cdc.internal.ListenerMetrics;
import dev.veracache.cdc.internal.ListenerState;
import dev.veracache.cdc.internal.NamespaceFlush;
import dev.veracache.cdc.internal.ReadinessProver;
import dev.veracache.cdc.internal.RedisRetry;
import dev.veracache.cdc.internal.SchemaCheck;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the database's binlog (Debezium embedded) and invalidates the mapped cache keys in Redis after each commit, in
 * commit order; every instance's L1 follows through Redis tracking. The parts, each with its own invariants, live in
 * {@code dev.veracache.cdc.internal}: {@code DebeziumConfiguration}, {@code EngineRunner} and
 * {@code StartingPosition}, {@code ReadinessProver}, {@code BatchApplier}, {@code RedisRetry},
 * {@code NamespaceFlush}, {@code SchemaCheck}, {@code ListenerMetrics}, and the state value {@code Lifecycle}.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No position is acknowledged before its invalidations are in Redis</b> (R2, R6). A batch is marked
 *       processed only after {@link RedisInvalidator} took all of it; while Redis refuses, the batch is retried with
 *       exponential backoff and nothing is acknowledged. A crash replays from the last acknowledged position (at
 *       least once; invalidations are idempotent).</li>
 *   <li><b>Order.</b> Batches are applied one after the other, each pipelined in binlog order on one connection.</li>
 *   <li><b>Nothing is skipped silently.</b> Unmapped tables are counted; a row that does not fit its mapping stops the
 *       listener (health down, logged) rather than dropping the invalidation.</li>
 *   <li><b>Whole-table changes are not row changes</b> (R16). A TRUNCATE, DROP, RENAME or CREATE OR REPLACE of a
 *       mapped table flushes the table's namespace at its place in the batch (invalidations before it are applied
 *       first, the rest after; the batch is acknowledged only after the flush succeeded, retried like
 *       invalidations), or stops the listener under policy FAIL. Either way it is logged and counted.</li>
 *   <li><b>Live means proven</b> (R18). {@link #isLive()} turns true only when a marker row written after start came
 *       back through the binlog: Debezium reports its task started before it reads new commits.</li>
 *   <li><b>A stream that cannot make progress says so</b> (R18). While a batch is unapplied its age is the gauge
 *       {@code veracache.cdc.oldest.unapplied.age}; once it has been retried for {@code stallThreshold} the listener is
 *       {@link State#STALLED}: not live, health down with the reason, one ERROR log line; one INFO line when Redis
 *       takes the batch and it recovers by itself. This holds for every Redis step a batch waits on before it is
 *       acknowledged (its invalidations, a whole-table flush, its progress record).</li>
 *   <li><b>Lost invalidations are flushed at least once</b> (R6, R15). When invalidations may have been lost (the
 *       stored position was purged, or there is none: a first start or a lost offset store; Redis lost acknowledged
 *       data) the duty to flush the mapped namespaces is stored before the position can move, and cleared only after
 *       the flush. A listener stopped in between flushes on its next start. Unless the operator declared a fresh
 *       install ({@link CdcOptions.FirstStartPolicy#ASSUME_FRESH_INSTALL}), which is logged and counted.</li>
 *   <li><b>One state value.</b> Where the listener stands is one {@code Lifecycle} phase (starting, proving,
 *       flushing, live, failed, closed), changed atomically; {@link #awaitLive} waits on the future each change
 *       completes. Stalled is derived from the unapplied batch's age.</li>
 *   <li><b>Meters follow the instance.</b> A listener's meters are removed from the registry on {@link #close()}, so
 *       the next listener of that name registers its own; two open listeners of one name in one registry are refused
 *       at start.</li>
 * </ul>
 */
public final class CdcInvalidator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);

  /** What {@link #status()} reports. */
  public enum State {
    /** Started, not yet proven to stream (marker not back yet), or flushing the mapped namespaces first. */
    STARTING,
    /** Proven to see new commits, and applying them. */
    LIVE,
    /** A batch has been retried for longer than {@code stallThreshold}: nothing moves until Redis takes it. */
    STALLED,
    /** Stopped by an error ({@link #failure()}); a supervisor must close it and start a new one. */
    FAILED,
    CLOSED
  }

  /** The listener's state and, for operators, why. */
  public record Status(State state, String detail) {}

  private final CdcOptions options;
  private final Lifecycle lifecycle = new Lifecycle();
  private final ListenerMetrics metrics;
  private final ListenerState state;
  private final RedisInvalidator invalidator;
  private final RedisRetry retry;
  private final NamespaceFlush flush;
  /** Embedded mode only (null in Kafka mode). */
  private final ReadinessProver prover;
  /** Embedded mode only (null in Kafka mode). */
  private final EngineRunner engine;
  /** Kafka mode only (null in embedded mode). */
  private final KafkaRunner kafka;

  private CdcInvalidator(CdcOptions options, CdcHooks hooks) {
    this.options = options;
    this.metrics = new ListenerMetrics(options);
    try {
      this.retry = new RedisRetry(options, metrics, lifecycle);
      metrics.registerGauges(this::isLive, retry);
      this.state = options.kafka() == null ? ListenerState.open(options) : ListenerState.inKafka(options.name());
      this.invalidator = RedisInvalidator.create(options.redis());
    } catch (RuntimeException e) {
      metrics.close();
      throw e;
    }
    this.flush = new NamespaceFlush(options, state, invalidator, metrics, retry, lifecycle);
    if (options.kafka() == null) {
      this.prover = new ReadinessProver(options, hooks, lifecycle, flush);
      BatchApplier applier = new BatchApplier(options, hooks, invalidator, metrics, retry, lifecycle, prover, flush);
      this.engine = new EngineRunner(options, state, flush, metrics, lifecycle, applier, prover);
      this.kafka = null;
    } else {
      this.prover = null;
      this.engine = null;
      BatchApplier applier = new BatchApplier(options, hooks, invalidator, metrics, retry, lifecycle, null, flush);
      this.kafka = new KafkaRunner(options, lifecycle, applier, metrics, flush);
    }
  }

  /** Checks the mappings against the database, connects to Redis, starts reading the binlog. Not live yet. */
  public static CdcInvalidator start(CdcOptions options) {
    return start(options, CdcHooks.NONE);
  }

  /** As {@link #start(CdcOptions)}, with test hooks at the race points (unsupported: see {@link CdcHooks}). */
  public static CdcInvalidator start(CdcOptions options, CdcHooks hooks) {
    if (options.kafka() != null) {
      return startInKafkaMode(options, hooks);
    }
    SchemaCheck.check(options);
    CdcInvalidator cdc = new CdcInvalidator(options, hooks);
    try {
      Files.createDirectories(options.stateDirectory());
      cdc.prover.createMarkerTable();
    } catch (IOException e) {
      cdc.close();
      throw new UncheckedIOException("cannot create state directory " + options.stateDirectory(), e);
    } catch (SQLException e) {
      cdc.close();
      throw new IllegalStateException("cannot create " + options.mappings().databases().get(0) + "."
          + ReadinessProver.MARKER_TABLE + ": " + e.getMessage(), e);
    }
    try {
      cdc.checkRedisDurabilitySupported();
      cdc.engine.startFromStoredPosition();
    } catch (RuntimeException e) {
      cdc.close();
      throw e;
    }
    return cdc;
  }

  /**
   * Kafka mode: no database here (the mappings are checked against each event), no state directory; joins the
   * consumer group and is live once it joined (possibly with no partition: a standby), knows the position of every
   * partition it was given and did any flush it owed, while Kafka answers (see {@code KafkaRunner}).
   */
  private static CdcInvalidator startInKafkaMode(CdcOptions options, CdcHooks hooks) {
    CdcInvalidator cdc = new CdcInvalidator(options, hooks);
    try {
      cdc.checkRedisDurabilitySupported();
      cdc.kafka.start();
    } catch (RuntimeException e) {
      cdc.close();
      throw e;
    }
    return cdc;
  }

  /** WAITAOF needs Redis 7.2 or newer with AOF on: refuse to start, naming the option, rather than stall later. */
  private void checkRedisDurabilitySupported() {
    if (!options.redisAwaitAof()) {
      return;
    }
    try {
      invalidator.awaitDurability(0, true, options.redisDurabilityTimeout());
    } catch (CacheUnavailableException e) {
      throw new IllegalArgumentException("listener " + options.name() + ": redisDurability(appendOnlyFile = true) "
          + "needs WAITAOF (Redis 7.2 or newer, appendonly yes), which Redis at " + options.redis().redisUri().getHost()
          + ":" + options.redis().redisUri().getPort() + " refused: " + e.getMessage(), e);
    }
  }

  /** Waits until the listener is live (see {@link #isLive()}); false if it failed, closed, or the timeout passed. */
  public boolean awaitLive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      CompletableFuture<Void> changed = lifecycle.changed(); // taken before reading: no change is missed
      if (isLive()) {
        return true;
      }
      long left = deadline - System.nanoTime();
      if (lifecycle.isOver() || left <= 0) {
        return false;
      }
      try {
        Lifecycle.await(changed, Duration.ofNanos(left));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /**
   * True once a marker written after (re)start came back through the binlog (and, when a flush was owed, the mapped
   * namespaces were flushed), while the engine runs and is not {@link #isStalled() stalled}.
   */
  public boolean isLive() {
    return lifecycle.phase() == Lifecycle.Phase.LIVE && !isStalled() && (kafka == null || kafka.inContact());
  }

  /**
   * True while a batch has been retried for longer than {@code stallThreshold} because Redis does not take it: the
   * stored position does not move and the mapped caches may serve values older than that. Clears by itself once
   * Redis takes the batch.
   */
  public boolean isStalled() {
    return retry.isStalled();
  }

  /** Where the listener stands, and why: for health checks and operators. */
  public Status status() {
    Lifecycle.Phase phase = lifecycle.phase();
    if (phase == Lifecycle.Phase.CLOSED) {
      return new Status(State.CLOSED, "closed");
    }
    if (phase == Lifecycle.Phase.FAILED) {
      return new Status(State.FAILED, String.valueOf(lifecycle.failure().getMessage()));
    }
    if (isStalled()) {
      return new Status(State.STALLED, retry.stallDetail());
    }
    if (phase == Lifecycle.Phase.LIVE && kafka != null && !kafka.inContact()) {
      return new Status(State.STALLED, kafka.noContact());
    }
    return switch (phase) {
      case LIVE -> new Status(State.LIVE, "streaming");
      case FLUSHING -> new Status(State.STARTING, "flushing the mapped namespaces " + flush.namespaces() + " ("
          + flush.duty() + ")" + (flush.refusal() == null ? "" : "; Redis refused: " + flush.refusal()));
      default -> new Status(State.STARTING, kafka != null ? kafka.waitingFor()
          : "waiting for the readiness marker to come back through the binlog");
    };
  }

  /** Why the listener stopped, or null while it runs. */
  public Throwable failure() {
    return lifecycle.failure();
  }

  /**
   * Stops the listener: lets the engine's polling loop end by itself, then closes the engine (if it does not stop
   * within 10 s: the database is unreachable, so no marker can bring a batch), the Redis connection and the offset
   * store, and removes the meters. Changes read but not acknowledged are replayed by the next start. A clean close
   * logs one INFO line and nothing above it.
   */
  @Override
  public synchronized void close() {
    if (!lifecycle.close()) {
      return;
    }
    try {
      if (engine != null) {
        engine.close();
      } else {
        kafka.close();
      }
    } finally {
      try {
        invalidator.close();
        state.close();
      } finally {
        metrics.close(); // the next listener of this name registers its own, read from it
      }
    }
    log.info("listener {} closed", options.name());
  }
}
