package dev.veracache.cdc;

import dev.veracache.CacheUnavailableException;
import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.StopEngineException;
import io.debezium.engine.format.ChangeEventFormat;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the database's binlog (Debezium embedded) and invalidates the mapped cache keys in Redis after each commit, in
 * commit order; every instance's L1 follows through Redis tracking.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No position is acknowledged before its invalidations are in Redis.</b> A batch is marked processed only
 *       after {@link RedisInvalidator} took all of it; while Redis refuses, the batch is retried with exponential
 *       backoff and nothing is acknowledged. A crash replays from the last acknowledged position (at least once;
 *       invalidations are idempotent).</li>
 *   <li><b>Order.</b> Batches are applied one after the other, each pipelined in binlog order on one connection.</li>
 *   <li><b>Nothing is skipped silently.</b> Unmapped tables are counted; a row that does not fit its mapping stops the
 *       listener (health down, logged) rather than dropping the invalidation.</li>
 *   <li><b>Whole-table changes are not row changes.</b> A TRUNCATE, DROP, RENAME or CREATE OR REPLACE of a mapped
 *       table flushes the table's namespace at its place in the batch (invalidations before it are applied first,
 *       the rest after; the batch is acknowledged only after the flush succeeded, retried like invalidations), or
 *       stops the listener under policy FAIL. Either way it is logged and counted.</li>
 *   <li><b>Live means proven.</b> {@link #isLive()} turns true only when a marker row written after start came back
 *       through the binlog: Debezium reports its task started before it reads new commits.</li>
 *   <li><b>A stream that cannot make progress says so.</b> While a batch is unapplied its age is the gauge
 *       {@code veracache.cdc.oldest.unapplied.age}; once it has been retried for {@code stallThreshold} the listener is
 *       {@link State#STALLED}: not live, health down with the reason, one ERROR log line; one INFO line when Redis
 *       takes the batch and it recovers by itself. This holds for every Redis step a batch waits on before it is
 *       acknowledged (its invalidations, a whole-table flush, its progress record): a batch with no invalidations,
 *       stuck on its progress record while Redis is down, stalls the stream just the same.</li>
 *   <li><b>Lost invalidations are flushed at least once.</b> When invalidations may have been lost (the stored
 *       position was purged, or there is none: a first start or a lost offset store) the duty to flush the mapped
 *       namespaces is stored ({@link ListenerState}) before the position can move, and cleared only after the flush.
 *       A listener stopped in between flushes on its next start. Unless the operator declared a fresh install
 *       ({@link CdcOptions.FirstStartPolicy#ASSUME_FRESH_INSTALL}), which is logged and counted.</li>
 *   <li><b>Meters follow the instance.</b> A listener's meters are removed from the registry on {@link #close()}, so
 *       the next listener of that name registers its own; two open listeners of one name in one registry are refused
 *       at start.</li>
 * </ul>
 */
public final class CdcInvalidator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  static final String MARKER_TABLE = "veracache_cdc_marker";
  /** Listener names with open instances, per registry (identity): their meters would be one another's. */
  private static final Map<MeterRegistry, Set<String>> NAMES_IN_USE = new WeakHashMap<>();

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

  /**
   * The step of a batch Redis has not taken yet ({@code what}: "a batch of 3 invalidations", "the progress record",
   * "the flush of namespace 'x'"): since when (nanoTime), and how its attempts went.
   */
  private record Unapplied(String what, long receivedNanos, int failedAttempts, String lastError) {}

  private final CdcOptions options;
  private final CdcHooks hooks;
  private final ChangeEventMapper mapper;
  private final RedisInvalidator invalidator;
  private final String markerDatabase;
  private final ExecutorService engineThread;
  private final IntervalFunction backoff;
  private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;

  private volatile boolean live;
  private volatile boolean proven;
  private final Object liveSignal = new Object();
  private final ExecutorService prover;
  private volatile boolean closing;
  private volatile Throwable failure;
  private final AtomicLong markerToken = new AtomicLong();
  /** Counted down by the completion callback of the current engine (a purged position starts a new engine). */
  private volatile java.util.concurrent.CountDownLatch engineFinished = new java.util.concurrent.CountDownLatch(0);
  private final AtomicLong lastCommitMillis = new AtomicLong();
  private final AtomicInteger backlog = new AtomicInteger();
  private final Counter eventsApplied;
  private final Counter eventsUnmapped;
  private final Counter keysInvalidated;
  private final Counter retries;
  private final Counter purgedFlushed;
  private final Counter purgedFailed;
  private final Counter stalls;
  private final Counter firstStartsFlushed;
  private final Counter firstStartsAssumedFresh;
  private final Counter namespacesFlushed;
  private final Counter redisDataLossesFlushed;
  private final Counter redisDataLossesFailed;
  private final Counter redisDataLossesIgnored;
  private final Counter progressPublished;
  private final ProgressPublisher progress;
  /** The newest marker token handed out: a timestamp (this JVM's clock, ms), strictly increasing. */
  private final AtomicLong lastMarkerToken = new AtomicLong();
  /** When this run wrote each marker still expected back, by the monotonic clock. */
  private final java.util.concurrent.ConcurrentSkipListMap<Long, Long> markerWrittenNanos =
      new java.util.concurrent.ConcurrentSkipListMap<>();
  private final List<Meter> meters = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final ListenerState state;
  /** Why the mapped namespaces must be flushed once live (stored in {@link #state}); null when nothing is owed. */
  private volatile String flushDuty;
  /** The last Redis refusal of the flush, for {@link #status()}; null when none. */
  private volatile String flushRefusal;
  private volatile Unapplied unapplied;
  private boolean stallReported; // engine thread only

  private CdcInvalidator(CdcOptions options, CdcHooks hooks) {
    this.options = options;
    this.hooks = hooks;
    this.mapper = new ChangeEventMapper(options.mappings);
    this.markerDatabase = options.mappings.databases().get(0);
    this.backoff = IntervalFunction.ofExponentialBackoff(options.retryInitialBackoff, 2.0, options.retryMaxBackoff);
    MeterRegistry registry = options.meterRegistry;
    String name = options.name;
    claimName(registry, name);
    try {
      this.eventsApplied = keep(Counter.builder("veracache.cdc.events").tag("listener", name)
          .tag("result", "applied").description("Row changes whose invalidations Redis took").register(registry));
      this.eventsUnmapped = keep(Counter.builder("veracache.cdc.events").tag("listener", name)
          .tag("result", "unmapped").description("Row changes of tables with no mapping (skipped)")
          .register(registry));
      this.keysInvalidated = keep(Counter.builder("veracache.cdc.invalidations").tag("listener", name)
          .description("Cache keys invalidated").register(registry));
      this.retries = keep(Counter.builder("veracache.cdc.retries").tag("listener", name)
          .description("Batches retried because Redis did not take them").register(registry));
      keep(Gauge.builder("veracache.cdc.backlog", backlog, AtomicInteger::get).tag("listener", name)
          .description("Invalidations received but not yet taken by Redis").register(registry));
      keep(Gauge.builder("veracache.cdc.lag", this, CdcInvalidator::lagMillis).tag("listener", name)
          .baseUnit("milliseconds").description("Now minus the commit time of the last applied change")
          .register(registry));
      keep(Gauge.builder("veracache.cdc.live", this, c -> c.isLive() ? 1 : 0).tag("listener", name)
          .description("1 while the listener is proven to see new commits and not stalled").register(registry));
      keep(Gauge.builder("veracache.cdc.oldest.unapplied.age", this, CdcInvalidator::oldestUnappliedAgeMillis)
          .tag("listener", name).baseUnit("milliseconds")
          .description("How long ago the oldest change not yet taken by Redis was received; 0 when none")
          .register(registry));
      keep(Gauge.builder("veracache.cdc.stalled", this, c -> c.isStalled() ? 1 : 0).tag("listener", name)
          .description("1 while a batch has been retried for longer than the stall threshold").register(registry));
      this.stalls = keep(Counter.builder("veracache.cdc.stalls").tag("listener", name)
          .description("Times a batch was retried for longer than the stall threshold").register(registry));
      this.purgedFlushed = keep(Counter.builder("veracache.cdc.purged.positions").tag("listener", name)
          .tag("action", "flushed").description("Stored positions found purged from the binlog").register(registry));
      this.purgedFailed = keep(Counter.builder("veracache.cdc.purged.positions").tag("listener", name)
          .tag("action", "failed").description("Stored positions found purged from the binlog")
          .register(registry));
      this.firstStartsFlushed = keep(Counter.builder("veracache.cdc.first.starts").tag("listener", name)
          .tag("action", "flushed").description("Starts without a stored position").register(registry));
      this.firstStartsAssumedFresh = keep(Counter.builder("veracache.cdc.first.starts").tag("listener", name)
          .tag("action", "assumed_fresh").description("Starts without a stored position").register(registry));
      this.namespacesFlushed = keep(Counter.builder("veracache.cdc.namespaces.flushed").tag("listener", name)
          .description("Mapped namespaces flushed because invalidations may have been lost").register(registry));
      this.redisDataLossesFlushed = keep(Counter.builder("veracache.cdc.redis.data.losses").tag("listener", name)
          .tag("action", "flushed").description("Times Redis was found to have lost invalidations it had acknowledged")
          .register(registry));
      this.redisDataLossesFailed = keep(Counter.builder("veracache.cdc.redis.data.losses").tag("listener", name)
          .tag("action", "failed").description("Times Redis was found to have lost invalidations it had acknowledged")
          .register(registry));
      this.redisDataLossesIgnored = keep(Counter.builder("veracache.cdc.redis.data.losses").tag("listener", name)
          .tag("action", "ignored").description("Times Redis was found to have lost invalidations it had acknowledged")
          .register(registry));
      this.progressPublished = keep(Counter.builder("veracache.cdc.progress.published").tag("listener", name)
          .description("Progress records published for clients (everything before a marker row applied)")
          .register(registry));
      this.state = ListenerState.of(options, () -> connect(markerDatabase));
      this.invalidator = RedisInvalidator.create(options.redis);
      this.progress = new ProgressPublisher(invalidator, name, namespaces(options));
    } catch (RuntimeException e) {
      removeMeters();
      releaseName(registry, name);
      throw e;
    }
    this.engineThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-" + name);
      t.setDaemon(true);
      return t;
    });
    this.prover = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "veracache-cdc-prover-" + name);
      t.setDaemon(true);
      return t;
    });
  }

  private static void claimName(MeterRegistry registry, String name) {
    synchronized (NAMES_IN_USE) {
      if (!NAMES_IN_USE.computeIfAbsent(registry, r -> new HashSet<>()).add(name)) {
        throw new IllegalStateException("a CDC listener named '" + name + "' is already open with this MeterRegistry: "
            + "close it before starting another, or give this one another name (CdcOptions name)");
      }
    }
  }

  private static void releaseName(MeterRegistry registry, String name) {
    synchronized (NAMES_IN_USE) {
      Set<String> names = NAMES_IN_USE.get(registry);
      if (names != null) {
        names.remove(name);
      }
    }
  }

  private <M extends Meter> M keep(M meter) {
    if (!meters.contains(meter)) {
      meters.add(meter);
    }
    return meter;
  }

  private void removeMeters() {
    for (Meter meter : meters) {
      options.meterRegistry.remove(meter);
    }
    meters.clear();
  }

  /** Checks the mappings against the database, connects to Redis, starts reading the binlog. Not live yet. */
  public static CdcInvalidator start(CdcOptions options) {
    return start(options, CdcHooks.NONE);
  }

  public static CdcInvalidator start(CdcOptions options, CdcHooks hooks) {
    checkMappingsAgainstSchema(options);
    CdcInvalidator cdc = new CdcInvalidator(options, hooks);
    try {
      Files.createDirectories(options.stateDirectory);
      cdc.createMarkerTable();
    } catch (IOException e) {
      cdc.close();
      throw new UncheckedIOException("cannot create state directory " + options.stateDirectory, e);
    } catch (SQLException e) {
      cdc.close();
      throw new IllegalStateException("cannot create " + cdc.markerDatabase + "." + MARKER_TABLE + ": "
          + e.getMessage(), e);
    }
    try {
      cdc.checkRedisDurabilitySupported();
      cdc.startFromStoredPosition();
    } catch (RuntimeException e) {
      cdc.close();
      throw e;
    }
    return cdc;
  }

  /** Waits until the listener is live (see {@link #isLive()}); false if it failed or the timeout passed first. */
  public boolean awaitLive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (liveSignal) {
      while (!isLive() && failure == null && !closing) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(liveSignal, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return isLive();
  }

  /**
   * Runs on its own thread after each engine start: writes a marker row every 200 ms until one comes back through the
   * binlog, then, when a flush is owed (purged position, no stored position, a duty left by an earlier run), flushes
   * the mapped namespaces and clears the stored duty.
   */
  private void proveLive(boolean flushWhenLive) {
    while (!live && failure == null && !closing) {
      markerToken.set(writeMarker("readiness"));
      synchronized (liveSignal) {
        try {
          if (!live) {
            liveSignal.wait(200);
          }
        } catch (InterruptedException e) {
          return;
        }
      }
    }
    if (live && flushWhenLive) {
      hooks.beforeFlush(namespaces());
      if (!flushMappedNamespaces()) {
        return; // closing: the duty stays stored, the next start flushes
      }
      clearFlushDuty();
    }
    if (live) {
      proven = true;
      synchronized (liveSignal) {
        liveSignal.notifyAll();
      }
    }
    // From now on a marker every progressInterval: when one comes back and everything before it is in Redis, the
    // listener publishes that progress for clients (handleBatch). Ends when this engine stops (a restarted engine
    // runs its own proveLive).
    while (live && failure == null && !closing) {
      synchronized (liveSignal) {
        try {
          liveSignal.wait(options.progressInterval.toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
      if (live && failure == null && !closing) {
        writeMarker("progress");
      }
    }
  }

  /**
   * Writes this listener's marker row with a new token, the time it is written (this JVM's clock, ms, strictly
   * increasing): when the row comes back through the binlog, every commit before that time has been read. Returns the
   * token; a failed write is logged and returns it all the same (its row never comes back).
   */
  private long writeMarker(String purpose) {
    long token = lastMarkerToken.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis()));
    markerWrittenNanos.put(token, System.nanoTime());
    try (Connection c = connect(markerDatabase); PreparedStatement ps = c.prepareStatement(
        "REPLACE INTO " + MARKER_TABLE + " (listener, token) VALUES (?, ?)")) {
      ps.setString(1, options.name);
      ps.setLong(2, token);
      ps.executeUpdate();
    } catch (SQLException e) {
      log.warn("listener {}: cannot write the {} marker: {}", options.name, purpose, e.getMessage());
    }
    return token;
  }

  /**
   * After every applied batch: check that Redis kept everything acknowledged so far and advance the sequence; when the
   * batch carried a marker row (written at {@code markerWrittenMillis}, else 0), also publish that every commit before
   * it is applied, for clients. Retried while Redis refuses. A Redis that lost data it had acknowledged is made whole
   * first (by policy). Nothing is checked or published before the listener is proven (a flush may still be owed).
   */
  private void publishProgress(long markerWrittenMillis) throws InterruptedException {
    if (!proven) {
      return;
    }
    String what = "the progress record";
    long received = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      if (closing) {
        throw new InterruptedException("closing before progress was published");
      }
      try {
        RedisInvalidator.ProgressOutcome outcome = markerWrittenMillis == 0 ? progress.advance()
            : progress.publish(markerLagMillis(markerWrittenMillis));
        if (outcome == RedisInvalidator.ProgressOutcome.REDIS_LOST_DATA) {
          onRedisDataLoss();
          continue; // publish again, on a new sequence
        }
        if (markerWrittenMillis != 0) {
          progressPublished.increment();
        }
        taken(what, received, attempt);
        return;
      } catch (CacheUnavailableException e) {
        long pause = refused(what, received, attempt, e);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not take the progress record (attempt {}, {}); clients that bound their "
              + "staleness stop trusting the caches meanwhile; retrying in {} ms", options.name, attempt,
              e.getMessage(), pause);
        }
        Thread.sleep(pause);
      }
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
    if (options.redisDataLossPolicy == CdcOptions.RedisDataLossPolicy.IGNORE) {
      redisDataLossesIgnored.increment();
      log.error("listener {}: {}; policy IGNORE: flushing nothing, the namespaces {} may serve restored old values "
          + "until their TTL", options.name, reason, namespaces());
      progress.startOver();
      return;
    }
    if (options.redisDataLossPolicy == CdcOptions.RedisDataLossPolicy.FAIL) {
      redisDataLossesFailed.increment();
      log.error("listener {}: {}; policy FAIL: stopping. Flush the namespaces {} and start the listener again",
          options.name, reason, namespaces());
      throw new IllegalStateException("listener " + options.name + ": " + reason);
    }
    redisDataLossesFlushed.increment();
    log.error("listener {}: {}; flushing the mapped namespaces {} (not live until done)", options.name, reason,
        namespaces());
    state.recordFlushDuty(reason);
    flushDuty = reason;
    proven = false;
    if (!flushMappedNamespaces()) {
      throw new InterruptedException("closing during the flush; the stored duty makes the next start flush");
    }
    clearFlushDuty();
    progress.startOver();
    proven = true;
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
  }

  /**
   * How long ago the marker was written, by the monotonic clock when this run wrote it (a wall-clock step must not
   * make the listener look more current than it is); by the wall clock for a marker of an earlier run (replayed).
   */
  private long markerLagMillis(long token) {
    Long writtenNanos = markerWrittenNanos.get(token);
    markerWrittenNanos.headMap(token, true).clear(); // this one and older ones will not come back again
    if (writtenNanos == null) {
      return Math.max(0, System.currentTimeMillis() - token);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - writtenNanos);
  }

  /** WAITAOF needs Redis 7.2 or newer with AOF on: refuse to start, naming the option, rather than stall later. */
  private void checkRedisDurabilitySupported() {
    if (!options.redisAwaitAof) {
      return;
    }
    try {
      invalidator.awaitDurability(0, true, options.redisDurabilityTimeout);
    } catch (CacheUnavailableException e) {
      throw new IllegalArgumentException("listener " + options.name + ": redisDurability(appendOnlyFile = true) "
          + "needs WAITAOF (Redis 7.2 or newer, appendonly yes), which Redis at " + options.redis.redisUri().getHost()
          + ":" + options.redis.redisUri().getPort() + " refused: " + e.getMessage(), e);
    }
  }

  /**
   * True once a marker written after (re)start came back through the binlog (and, when a flush was owed, the mapped
   * namespaces were flushed), while the engine runs and is not {@link #isStalled() stalled}.
   */
  public boolean isLive() {
    return live && proven && failure == null && !closing && !isStalled();
  }

  /**
   * True while a batch has been retried for longer than {@code stallThreshold} because Redis does not take it: the
   * stored position does not move and the mapped caches may serve values older than that. Clears by itself once
   * Redis takes the batch.
   */
  public boolean isStalled() {
    Unapplied batch = unapplied;
    return batch != null && batch.failedAttempts() > 0
        && System.nanoTime() - batch.receivedNanos() >= options.stallThreshold.toNanos();
  }

  /** Where the listener stands, and why: for health checks and operators. */
  public Status status() {
    if (closing) {
      return new Status(State.CLOSED, "closed");
    }
    Throwable failed = failure;
    if (failed != null) {
      return new Status(State.FAILED, String.valueOf(failed.getMessage()));
    }
    Unapplied batch = unapplied;
    if (batch != null && isStalled()) {
      return new Status(State.STALLED, "Redis has refused " + batch.what() + " for " + oldestUnappliedAgeMillis()
          + " ms (" + batch.failedAttempts() + " attempts; last: " + batch.lastError() + "); the binlog position does "
          + "not move until it takes it");
    }
    if (isLive()) {
      return new Status(State.LIVE, "streaming");
    }
    if (live) {
      String refusal = flushRefusal;
      return new Status(State.STARTING, "flushing the mapped namespaces " + namespaces() + " (" + flushDuty + ")"
          + (refusal == null ? "" : "; Redis refused: " + refusal));
    }
    return new Status(State.STARTING, "waiting for the readiness marker to come back through the binlog");
  }

  /** How long ago the oldest change Redis has not taken yet was received, ms; 0 when none. */
  long oldestUnappliedAgeMillis() {
    Unapplied batch = unapplied;
    return batch == null ? 0 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - batch.receivedNanos());
  }

  /** Why the listener stopped, or null while it runs. */
  public Throwable failure() {
    return failure;
  }

  long lagMillis() {
    long last = lastCommitMillis.get();
    return last == 0 ? 0 : Math.max(0, System.currentTimeMillis() - last);
  }

  /** How often the binlog client checks its connection and reconnects after the database went away. */
  static final Duration BINLOG_RECONNECT_INTERVAL = Duration.ofSeconds(1);

  private void startEngine(boolean flushWhenLive) {
    engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
        .using(debeziumProperties(options))
        .notifying(this::handleBatch)
        .using(this::engineStopped)
        .build();
    engineFinished = new java.util.concurrent.CountDownLatch(1);
    engineThread.execute(engine);
    prover.execute(() -> proveLive(flushWhenLive));
    log.info("listener {} started on {}:{} ({}), capturing {}", options.name, options.host, options.port,
        options.connector, options.mappings.databases());
  }

  /**
   * The Debezium engine's configuration for these options: connector, server id, capture lists, snapshot mode, value
   * handling, offset and schema-history storage, intervals. Builds nothing and contacts nothing, so tests can check it
   * without a database. It carries the database (and storage) password: never log it.
   */
  static Properties debeziumProperties(CdcOptions options) {
    Properties props = new Properties();
    props.setProperty("name", options.name);
    props.setProperty("connector.class", options.connector.connectorClass);
    props.setProperty("database.hostname", options.host);
    props.setProperty("database.port", Integer.toString(options.port));
    props.setProperty("database.user", options.user);
    props.setProperty("database.password", options.password);
    props.setProperty("database.server.id", Long.toString(options.serverId));
    props.setProperty("database.ssl.mode", options.ssl ? "required" : options.connector.sslDisabled);
    props.setProperty("topic.prefix", options.name);
    props.setProperty("database.include.list", String.join(",", options.mappings.databases()));
    props.setProperty("snapshot.mode", "no_data");
    props.setProperty("snapshot.locking.mode", "none");
    // DDL events: DROP/RENAME/CREATE OR REPLACE of a mapped table flush its namespace (see ChangeEventMapper).
    props.setProperty("include.schema.changes", "true");
    // Truncate events (op "t"), which Debezium skips by default: they flush the table's namespace.
    props.setProperty("skipped.operations", "none");
    // Values decoded by KeyRendering: exact unsigned BIGINTs and decimals, microsecond time types, raw bytes.
    props.setProperty("bigint.unsigned.handling.mode", "precise");
    props.setProperty("decimal.handling.mode", "precise");
    props.setProperty("time.precision.mode", "adaptive_time_microseconds");
    props.setProperty("binary.handling.mode", "bytes");
    storageProperties(options, props);
    props.setProperty("offset.flush.interval.ms", Long.toString(options.offsetFlushInterval.toMillis()));
    props.setProperty("poll.interval.ms", Long.toString(options.pollInterval.toMillis()));
    props.setProperty("max.batch.size", Integer.toString(options.maxBatchSize));
    props.setProperty("max.queue.size", Integer.toString(Math.max(8192, options.maxBatchSize * 4)));
    props.setProperty("heartbeat.interval.ms", Long.toString(options.heartbeatInterval.toMillis()));
    // The binlog client's keep-alive thread is what reconnects after the database went away (a restart, a failover):
    // Debezium's default checks once a minute, so a listener would stream nothing for up to a minute while reporting
    // itself live. Found by the chaos db-restart scenario once quiescence waited for the listener.
    props.setProperty("connect.keep.alive", "true");
    props.setProperty("connect.keep.alive.interval.ms", Long.toString(BINLOG_RECONNECT_INTERVAL.toMillis()));
    props.setProperty("bootstrap.servers", "unused:9092"); // required by Kafka 4.2 config classes, never contacted
    return props;
  }

  /**
   * Starts the engine from the stored position. A flush duty left by an earlier run is honoured; without a stored
   * position the first-start policy decides; a stored position the server no longer has goes to the purged-position
   * policy.
   */
  private void startFromStoredPosition() {
    Optional<String> owed = state.flushDuty();
    Optional<StoredPosition> stored = state.storedPosition();
    if (owed.isPresent()) {
      flushDuty = owed.get();
      log.warn("listener {}: a flush of the mapped namespaces {} is still owed from an earlier run ({}); it is done "
          + "once live", options.name, namespaces(), flushDuty);
    }
    if (stored.isEmpty()) {
      startWithoutStoredPosition();
    } else if (stored.get().binlogFile().isPresent()) {
      String file = stored.get().binlogFile().get();
      List<String> onServer = binlogFilesOnServer();
      if (!onServer.contains(file)) {
        onPurgedPosition("binlog file " + file + " is not on the server any more (it has " + onServer + ")", null);
        return;
      }
    }
    startEngine(flushDuty != null);
  }

  /** A first start, or a lost position: flush once live (the duty stored first), unless a fresh install is declared. */
  private void startWithoutStoredPosition() {
    if (options.firstStartPolicy == CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL) {
      firstStartsAssumedFresh.increment();
      log.info("listener {}: no stored position in {}; policy ASSUME_FRESH_INSTALL: starting from the current binlog "
          + "position without flushing the mapped namespaces", options.name, state.describe());
      return;
    }
    firstStartsFlushed.increment();
    String reason = "no stored position in " + state.describe() + " (first start, or the position was lost)";
    if (flushDuty == null) {
      state.recordFlushDuty(reason);
      flushDuty = reason;
    }
    log.warn("listener {}: {}; policy FLUSH_NAMESPACES: starting from the current binlog position and flushing the "
        + "mapped namespaces {} once live, as changes made before may never have been invalidated (declare "
        + "ASSUME_FRESH_INSTALL if nothing was cached before)", options.name, reason, namespaces());
  }

  private List<String> binlogFilesOnServer() {
    List<String> onServer = new ArrayList<>();
    try (Connection c = connect(markerDatabase); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
      while (rs.next()) {
        onServer.add(rs.getString(1));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("listener " + options.name + ": cannot check the stored position in "
          + state.describe() + " against the server: " + e.getMessage(), e);
    }
    return onServer;
  }

  /**
   * FLUSH_AND_RESTART: stores the flush duty, then deletes the stored position and starts a new engine from the
   * current position (in that order: a listener stopped in between still owes the flush). FAIL: stops.
   */
  private void onPurgedPosition(String what, Throwable error) {
    if (options.purgedPositionPolicy == CdcOptions.PurgedPositionPolicy.FLUSH_AND_RESTART) {
      purgedFlushed.increment();
      log.error("listener {}: its stored position was purged ({}), so invalidations were lost. Restarting from the "
          + "current position; the mapped namespaces {} will be flushed once live", options.name, what, namespaces());
      String reason = "stored position purged: " + what;
      try {
        state.recordFlushDuty(reason);
        flushDuty = reason;
        state.deleteStoredPosition();
      } catch (RuntimeException e) {
        log.error("listener {}: cannot reset its purged position: {}", options.name, e.getMessage());
        failure = e;
        synchronized (liveSignal) {
          liveSignal.notifyAll();
        }
        return;
      }
      engineThread.execute(() -> startEngine(true)); // after a stopped engine's task has returned
      return;
    }
    purgedFailed.increment();
    log.error("listener {}: its stored position was purged ({}); policy FAIL: stopping. Flush the namespaces {} and "
        + "delete the stored position ({}) to start over", options.name, what, namespaces(), state.describe());
    failure = error != null ? error : new IllegalStateException("stored binlog position purged: " + what);
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
  }

  private void engineStopped(boolean success, String message, Throwable error) {
    engineFinished.countDown();
    if (success || closing) {
      return;
    }
    live = false;
    proven = false;
    if (isPurgedPosition(message, error)) {
      onPurgedPosition(message, error);
      return;
    }
    // Debezium puts its whole configuration, passwords included, into some of these messages: mask before logging.
    String safeMessage = Secrets.mask(message);
    Throwable root = error == null ? null : error.getCause() != null ? error.getCause() : error;
    String cause = root == null ? "" : Secrets.mask(String.valueOf(root));
    log.error("listener {} stopped: {} ({})", options.name, safeMessage, cause);
    failure = new IllegalStateException(safeMessage + (cause.isEmpty() ? "" : " (" + cause + ")"));
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
  }

  /** Debezium's words for it, and MariaDB's when the stored GTID position's binlog files are gone. */
  private static final List<String> PURGED_POSITION_MESSAGES = List.of("no longer available on the server",
      "Could not find GTID state requested by slave in any binlog files");

  private static boolean isPurgedPosition(String message, Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      String text = String.valueOf(t.getMessage());
      if (PURGED_POSITION_MESSAGES.stream().anyMatch(text::contains)) {
        return true;
      }
    }
    return PURGED_POSITION_MESSAGES.stream().anyMatch(String.valueOf(message)::contains);
  }

  private List<String> namespaces() {
    return namespaces(options);
  }

  private static List<String> namespaces(CdcOptions options) {
    return options.mappings.tables().stream().map(TableMapping::namespace).distinct().sorted().toList();
  }

  /**
   * Deletes every key of the mapped namespaces, each retried until Redis took it (every refusal counted in
   * {@code veracache.cdc.retries} and logged). True when all were flushed; false when closing cut it short.
   */
  private boolean flushMappedNamespaces() {
    for (String namespace : namespaces()) {
      for (int attempt = 1; ; attempt++) {
        if (closing) {
          return false;
        }
        try {
          long deleted = invalidator.flushNamespace(namespace);
          flushRefusal = null;
          namespacesFlushed.increment();
          log.warn("listener {}: flushed namespace '{}' ({} keys) because {}", options.name, namespace, deleted,
              flushDuty);
          break;
        } catch (CacheUnavailableException e) {
          retries.increment();
          flushRefusal = e.getMessage();
          long pause = backoff.apply(attempt);
          if (attempt == 1 || attempt % 20 == 0) {
            log.warn("listener {}: Redis did not flush namespace '{}' (attempt {}, {}); not live until it does, "
                + "retrying in {} ms", options.name, namespace, attempt, e.getMessage(), pause);
          }
          try {
            Thread.sleep(pause);
          } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
      }
    }
    return true;
  }

  /** After the flush: the duty is done. If it cannot be cleared it stays, and the next start flushes again. */
  private void clearFlushDuty() {
    try {
      state.clearFlushDuty();
      flushDuty = null;
    } catch (RuntimeException e) {
      log.warn("listener {}: flushed the mapped namespaces but cannot clear the stored flush duty ({}); the next start "
          + "will flush them again", options.name, e.getMessage());
    }
  }

  /** Offsets and schema history: in the state directory, the cache's Redis, or tables of the captured database. */
  private static void storageProperties(CdcOptions options, Properties props) {
    switch (options.offsetStorage) {
      case FILE -> {
        props.setProperty("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
        props.setProperty("schema.history.internal.file.filename",
            options.stateDirectory.resolve("schema-history.dat").toString());
        props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        props.setProperty("offset.storage.file.filename", options.stateDirectory.resolve("offsets.dat").toString());
      }
      case REDIS -> {
        io.lettuce.core.RedisURI uri = options.redis.redisUri();
        io.lettuce.core.RedisCredentials credentials = uri.getCredentialsProvider().resolveCredentials().block();
        props.setProperty("offset.storage", "io.debezium.storage.redis.offset.RedisOffsetBackingStore");
        props.setProperty("schema.history.internal", "io.debezium.storage.redis.history.RedisSchemaHistory");
        for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
          props.setProperty(prefix + "redis.address", uri.getHost() + ":" + uri.getPort());
          if (credentials != null && credentials.hasUsername()) {
            props.setProperty(prefix + "redis.user", credentials.getUsername());
          }
          if (credentials != null && credentials.hasPassword()) {
            props.setProperty(prefix + "redis.password", new String(credentials.getPassword()));
          }
          props.setProperty(prefix + "redis.ssl.enabled", Boolean.toString(uri.isSsl()));
        }
        props.setProperty("offset.storage.redis.key", "veracache:cdc:" + options.name + ":offsets");
        props.setProperty("schema.history.internal.redis.key", "veracache:cdc:" + options.name + ":schema_history");
      }
      case JDBC -> {
        props.setProperty("offset.storage", "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore");
        props.setProperty("schema.history.internal", "io.debezium.storage.jdbc.history.JdbcSchemaHistory");
        for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
          props.setProperty(prefix + "jdbc.connection.url", jdbcUrl(options, options.mappings.databases().get(0)));
          props.setProperty(prefix + "jdbc.connection.user", options.user);
          props.setProperty(prefix + "jdbc.connection.password", options.password);
        }
        props.setProperty("offset.storage.jdbc.table.name", "veracache_cdc_offsets");
        props.setProperty("schema.history.internal.jdbc.table.name", "veracache_cdc_schema_history");
      }
      default -> throw new IllegalStateException("unknown offset storage " + options.offsetStorage);
    }
  }

  /**
   * Debezium's batch handler. While closing, it ends the polling loop the way Debezium stops cleanly
   * ({@link StopEngineException}), before or instead of applying anything: nothing of the batch is acknowledged, so
   * the next start replays it.
   */
  private void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
    if (closing) {
      throw closingStop();
    }
    try {
      applyBatch(records, committer);
    } catch (InterruptedException e) {
      if (closing) {
        throw closingStop();
      }
      throw e;
    }
  }

  private StopEngineException closingStop() {
    return new StopEngineException("listener " + options.name + " is closing; unacknowledged changes are replayed by "
        + "the next start");
  }

  private void applyBatch(List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
    List<KeyInvalidation> invalidations = new ArrayList<>();
    int applied = 0;
    int keys = 0;
    long newestCommit = 0;
    long newestMarker = 0;
    for (RecordChangeEvent<SourceRecord> event : records) {
      List<ChangeEventMapper.TableReset> resets = mapper.tableResets(event.record());
      if (!resets.isEmpty()) {
        // In binlog order: what came before is in Redis before the flush, what comes after lands after it.
        if (!invalidations.isEmpty()) {
          hooks.beforeApply(invalidations);
          applyUntilTaken(invalidations);
          keys += invalidations.size();
          invalidations = new ArrayList<>();
        }
        for (ChangeEventMapper.TableReset reset : resets) {
          resetTable(reset);
        }
        continue;
      }
      ChangeEventMapper.RowChange change = ChangeEventMapper.rowChange(event.record());
      if (change == null) {
        continue;
      }
      if (MARKER_TABLE.equals(change.table())) {
        newestMarker = Math.max(newestMarker, noticeMarker(change.after()));
        continue;
      }
      TableMapping mapping = mapper.mappingOf(change);
      if (mapping == null) {
        eventsUnmapped.increment();
        continue;
      }
      invalidations.addAll(mapper.invalidations(change, mapping));
      applied++;
      newestCommit = Math.max(newestCommit, change.commitMillis());
    }
    hooks.beforeApply(invalidations);
    applyUntilTaken(invalidations);
    keys += invalidations.size();
    publishProgress(newestMarker); // everything before the newest marker of this batch is in Redis now
    for (RecordChangeEvent<SourceRecord> event : records) {
      committer.markProcessed(event);
    }
    committer.markBatchFinished();
    eventsApplied.increment(applied);
    keysInvalidated.increment(keys);
    if (newestCommit > 0) {
      lastCommitMillis.set(newestCommit);
    }
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
    boolean flush = options.wholeTableChangePolicy == CdcOptions.WholeTableChangePolicy.FLUSH_NAMESPACES;
    Counter counter = keep(Counter.builder("veracache.cdc.table.changes").tag("listener", options.name)
        .tag("table", mapping.table()).tag("reason", reset.reason()).tag("action", flush ? "flushed" : "failed")
        .description("Whole-table changes (TRUNCATE, DROP, RENAME, ...) of mapped tables")
        .register(options.meterRegistry));
    if (!flush) {
      counter.increment();
      String message = "listener " + options.name + ": mapped table " + mapping.table() + " changed as a whole ("
          + reset.reason() + ": " + statement + "); policy FAIL: stopping. Flush the namespace '"
          + mapping.namespace() + "', then restart with policy FLUSH_NAMESPACES (or from a new state directory)";
      log.error(message);
      throw new WholeTableChangeException(message);
    }
    log.warn("listener {}: mapped table {} changed as a whole ({}: {}): flushing namespace '{}'", options.name,
        mapping.table(), reset.reason(), statement, mapping.namespace());
    hooks.beforeFlush(mapping.table(), reset.reason(), mapping.namespace());
    long deleted = flushUntilDone(mapping.namespace());
    counter.increment();
    log.warn("listener {}: flushed namespace '{}' ({} keys) after the {} of {}", options.name, mapping.namespace(),
        deleted, reset.reason(), mapping.table());
  }

  /** Deletes every key of a namespace, retrying while Redis refuses (throws InterruptedException when closing). */
  private long flushUntilDone(String namespace) throws InterruptedException {
    String what = "the flush of namespace '" + namespace + "'";
    long received = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      if (closing) {
        throw new InterruptedException("closing before namespace '" + namespace + "' was flushed; the change will be "
            + "replayed from the last acknowledged position");
      }
      try {
        long deleted = invalidator.flushNamespace(namespace);
        taken(what, received, attempt);
        return deleted;
      } catch (CacheUnavailableException e) {
        long pause = refused(what, received, attempt, e);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not flush namespace '{}' (attempt {}, {}); position not acknowledged, "
              + "retrying in {} ms", options.name, namespace, attempt, e.getMessage(), pause);
        }
        Thread.sleep(pause);
      }
    }
  }

  /** A mapped table changed as a whole under policy FAIL. */
  static final class WholeTableChangeException extends RuntimeException {
    WholeTableChangeException(String message) {
      super(message);
    }
  }

  /**
   * A marker row came back: the readiness marker makes the listener live. Returns the token (the time the row was
   * written) when it is this listener's marker, for the progress it proves; 0 otherwise.
   */
  private long noticeMarker(Struct after) {
    if (after == null || !options.name.equals(after.getString("listener"))) {
      return 0;
    }
    long token = after.getInt64("token");
    if (token == markerToken.get() && !live) {
      log.info("listener {} is live: its marker came back through the binlog", options.name);
      live = true;
      synchronized (liveSignal) {
        liveSignal.notifyAll();
      }
    }
    return token;
  }

  /**
   * Retries until Redis takes the batch; never returns without it (throws InterruptedException when closing). Keeps
   * {@link #unapplied} current for the age gauge and the stall state; reports a stall once (ERROR) and its end (INFO).
   */
  private void applyUntilTaken(List<KeyInvalidation> invalidations) throws InterruptedException {
    if (invalidations.isEmpty()) {
      return;
    }
    backlog.set(invalidations.size());
    String what = "a batch of " + invalidations.size() + " invalidations";
    long received = System.nanoTime();
    unapplied = new Unapplied(what, received, 0, null);
    for (int attempt = 1; ; attempt++) {
      if (closing) {
        throw new InterruptedException("closing with " + invalidations.size() + " invalidations not applied; they "
            + "will be replayed from the last acknowledged position");
      }
      try {
        invalidator.invalidate(invalidations);
        invalidator.awaitDurability(options.redisReplicasToAwait, options.redisAwaitAof,
            options.redisDurabilityTimeout);
        backlog.set(0);
        taken(what, received, attempt);
        return;
      } catch (CacheUnavailableException e) {
        if (closing) {
          throw closingStop(); // interrupted by the close, not refused by Redis: nothing to report
        }
        long pause = refused(what, received, attempt, e);
        if (attempt == 1 || attempt % 20 == 0) {
          log.warn("listener {}: Redis did not take {} invalidations (attempt {}, {}); position not acknowledged, "
              + "retrying in {} ms", options.name, invalidations.size(), attempt, e.getMessage(), pause);
        }
        Thread.sleep(pause);
      }
    }
  }

  /**
   * One refused attempt at a Redis step of a batch ({@code what}, first tried at {@code received}): counts the retry,
   * keeps {@link #unapplied} current for the age gauge and the stall state, and reports the stall once (ERROR) when it
   * has lasted {@code stallThreshold}. Returns the pause before the next attempt.
   */
  private long refused(String what, long received, int attempt, CacheUnavailableException e) {
    retries.increment();
    unapplied = new Unapplied(what, received, attempt, e.getMessage());
    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received);
    if (!stallReported && waitedMillis >= options.stallThreshold.toMillis()) {
      stallReported = true;
      stalls.increment();
      log.error("listener {} stalled: Redis has refused {} for {} ms ({} attempts, last: {}); the position does not "
          + "move and the mapped caches may serve stale values until Redis takes it. Retrying every {} ms at most",
          options.name, what, waitedMillis, attempt, e.getMessage(), options.retryMaxBackoff.toMillis());
    }
    return backoff.apply(attempt);
  }

  /** Redis took a step of a batch: nothing is unapplied now; one INFO line if the stream had stalled on it. */
  private void taken(String what, long received, int attempt) {
    unapplied = null;
    if (stallReported) {
      stallReported = false;
      synchronized (liveSignal) {
        liveSignal.notifyAll(); // live again
      }
      log.info("listener {} recovered: Redis took {} after {} ms and {} attempts; the position moves again",
          options.name, what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - received), attempt);
    } else if (attempt > 1) {
      log.info("listener {}: Redis took {} after {} attempts", options.name, what, attempt);
    }
  }

  /**
   * Fails at start, naming the table, the field, the column and its type, when a mapping does not fit the table it
   * maps: a missing column, a key column that cannot be rendered faithfully (see {@link KeyRendering}), a version
   * column that is not an integer.
   */
  private static void checkMappingsAgainstSchema(CdcOptions options) {
    for (TableMapping mapping : options.mappings.tables()) {
      String[] parts = mapping.table().split("\\.", 2);
      Map<String, ColumnType> columns = new LinkedHashMap<>();
      try (Connection c = DriverManager.getConnection(jdbcUrl(options, parts[0]), options.user, options.password);
           PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLLATION_NAME, "
               + "CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? "
               + "ORDER BY ORDINAL_POSITION")) {
        ps.setString(1, parts[0]);
        ps.setString(2, parts[1]);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString(1);
            String dataType = rs.getString(2);
            String columnType = rs.getString(3);
            String collation = rs.getString(4);
            long octets = rs.getLong(5);
            ColumnType type = new ColumnType(name, dataType, columnType, collation, rs.wasNull() ? null : octets);
            columns.put(type.name().toLowerCase(java.util.Locale.ROOT), type);
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the columns of " + mapping.table() + " from " + options.host
            + ":" + options.port + ": " + e.getMessage(), e);
      }
      if (columns.isEmpty()) {
        throw new IllegalArgumentException("table " + mapping.table() + ": no such table in the database");
      }
      mapping.checkAgainst(columns);
    }
  }

  private void createMarkerTable() throws SQLException {
    try (Connection c = connect(markerDatabase); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + MARKER_TABLE
          + " (listener VARCHAR(64) PRIMARY KEY, token BIGINT NOT NULL)");
    }
  }

  private Connection connect(String database) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(options, database), options.user, options.password);
  }

  private static String jdbcUrl(CdcOptions options, String database) {
    return "jdbc:mysql://" + options.host + ":" + options.port + "/" + database + "?useSSL=" + options.ssl
        + "&allowPublicKeyRetrieval=true&connectTimeout=5000";
  }

  /**
   * Stops the listener: lets the engine's polling loop end by itself (see the class invariants), then closes the
   * engine, the Redis connection and the offset store, and removes the meters. Changes read but not acknowledged are
   * replayed by the next start. A clean close logs one INFO line and nothing above it; if the engine does not stop
   * within {@link #CLOSE_DRAIN_TIMEOUT} (the database is unreachable, so no marker can bring a batch), it is closed
   * under the polling loop, as before.
   */
  @Override
  public synchronized void close() {
    if (closing) {
      return;
    }
    closing = true;
    live = false;
    synchronized (liveSignal) {
      liveSignal.notifyAll();
    }
    try {
      if (engine != null && failure == null && !stopPollingQuietly()) {
        engine.close();
      }
    } catch (IOException | IllegalStateException e) {
      log.warn("listener {}: engine did not close cleanly: {}", options.name, e.getMessage());
    } finally {
      prover.shutdownNow();
      engineThread.shutdown();
      try {
        if (!engineThread.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("listener {}: engine thread still running after 30 s", options.name);
        }
        if (!prover.awaitTermination(5, TimeUnit.SECONDS)) {
          log.warn("listener {}: start-up thread still running after 5 s", options.name);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try {
        invalidator.close();
        state.close();
      } finally {
        removeMeters(); // the next listener of this name registers its own, read from it
        releaseName(options.meterRegistry, options.name);
      }
    }
    log.info("listener {} closed", options.name);
  }

  /** How long {@link #close()} waits for the polling loop to end by itself before closing the engine under it. */
  static final Duration CLOSE_DRAIN_TIMEOUT = Duration.ofSeconds(10);

  /**
   * With {@code closing} set, the next batch ends the polling loop ({@link #handleBatch}); a marker row brings one at
   * once. True when the engine finished by itself within {@link #CLOSE_DRAIN_TIMEOUT}.
   */
  private boolean stopPollingQuietly() {
    java.util.concurrent.CountDownLatch finished = engineFinished;
    if (finished.getCount() == 0) {
      return true;
    }
    writeMarker("close");
    try {
      if (finished.await(CLOSE_DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.info("listener {}: the engine did not stop by itself within {}; closing it", options.name,
        CLOSE_DRAIN_TIMEOUT);
    return false;
  }
}
