package dev.veracache.chaos.fault;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.chaos.check.RedisReader;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC listener of one run: in this JVM (fast to start), or in a separate JVM when the scenario must really crash or
 * pause it. {@link #ensureLive()} is the supervisor a deployment would have: it restarts a listener that died or
 * failed, from its stored position, or, for the FORGETFUL_CDC baseline, from a fresh state directory (so from the
 * current binlog position: what a listener without durable offsets does). The baseline declares every start a fresh
 * install ({@link CdcOptions.FirstStartPolicy#ASSUME_FRESH_INSTALL}), so it flushes nothing and stays naive; the
 * durable listener keeps the default and flushes its namespace when it finds no stored position. A listener publishes
 * its progress every {@code progressInterval} (null: the library's default of 500 ms). The CDC_NO_LOSS_CHECK baseline
 * runs with the data-loss policy IGNORE: it notices a Redis that lost what it acknowledged, logs it, and flushes
 * nothing. A listener in this JVM reports each batch it received to the run's hooks (the R13 injection waits for
 * the batch that carries a delete to be applied). Through Kafka ({@link KafkaChangePath}) the listener is a consumer
 * group member, in this JVM or its own (then a static member, so that its restart takes over at once), started once
 * it has read a marker row of the run's table. On the Redis Cluster ({@link #onCluster}) it invalidates the cluster,
 * in either JVM.
 */
public final class CdcInvalidatorControl implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidatorControl.class);
  private static final Duration LIVE_TIMEOUT = Duration.ofSeconds(60);
  /** Through Kafka, how long the commits to the end of every partition may take at least after the marker. */
  private static final Duration MIN_COMMIT_WAIT = Duration.ofSeconds(5);
  /** How long a batch waits for the replicas before it is retried ({@link #onCluster}). */
  private static final Duration REPLICA_WAIT = Duration.ofMillis(150);

  private final EmbeddedStack stack;
  private final String table;
  private final String namespace;
  private final List<String> keyTemplates;
  private final long serverId;
  private final boolean separateProcess;
  private final boolean forgetful;
  private final Duration progressInterval; // null: the library's default
  private final boolean ignoreRedisDataLoss; // the CDC_NO_LOSS_CHECK baseline, in this JVM only
  private final CdcHooks hooks; // in this JVM only
  private final boolean throughKafka;
  private Path stateDirectory;
  /** The embedded Redis Cluster's seeds when the run's caches use it ({@link #onCluster}); empty: the single Redis. */
  private List<String> clusterSeeds = List.of();
  private boolean awaitReplica;
  private CdcInvalidator inProcess;
  private CdcInvalidatorProcess process;

  public CdcInvalidatorControl(EmbeddedStack stack, String table, String namespace, boolean alternateKeys,
      long serverId, boolean separateProcess, boolean forgetful, Duration progressInterval, boolean ignoreRedisDataLoss,
      CdcHooks hooks, boolean throughKafka) {
    if (throughKafka && (forgetful || ignoreRedisDataLoss || progressInterval != null)) {
      // A forgetful member (a new group) would read every topic from its first record: it would forget nothing.
      throw new IllegalArgumentException("the Kafka path runs the listener with its stored position (the group's "
          + "offsets), without progress records or the Redis data-loss check: not for a forgetful listener ("
          + forgetful + "), the CDC_NO_LOSS_CHECK baseline (" + ignoreRedisDataLoss + ") or a progress interval ("
          + progressInterval + ")");
    }
    this.throughKafka = throughKafka;
    this.stack = stack;
    this.table = table;
    this.namespace = namespace;
    // The workload's key columns use the default (case-insensitive) collation and the workload always writes and
    // reads the stored spelling: {column:asis} says so (a plain {column} is refused at start for a *_ci column).
    this.keyTemplates = alternateKeys ? List.of("{k:asis}", "{sku:asis}") : List.of("{k:asis}");
    this.serverId = serverId;
    this.separateProcess = separateProcess;
    this.forgetful = forgetful;
    this.progressInterval = progressInterval;
    this.ignoreRedisDataLoss = ignoreRedisDataLoss;
    this.hooks = hooks;
    this.stateDirectory = newStateDirectory();
  }

  /**
   * The listener invalidates the embedded Redis Cluster instead of the single Redis; with {@code awaitReplica}, it
   * acknowledges a batch only once each master's replica has it ({@code redisDurability}: in this JVM only).
   */
  public synchronized void onCluster(boolean awaitReplica) {
    if (separateProcess && awaitReplica) {
      throw new IllegalStateException("a listener in a JVM of its own does not wait for replicas (redisDurability)");
    }
    clusterSeeds = stack.redisCluster().seedUris();
    this.awaitReplica = awaitReplica;
  }

  /** Where the listener's invalidations go, as {@link RedisReader#open} takes it. */
  public String redisAddress() {
    return clusterSeeds.isEmpty() ? stack.redis().uri() : RedisReader.clusterAddress(clusterSeeds);
  }

  /** Starts the listener and waits until it is live (proven to see new commits). */
  public synchronized void start() {
    DatabaseServer db = stack.database();
    String name = name();
    if (separateProcess) {
      process = CdcInvalidatorProcess.start(new CdcInvalidatorProcess.Spec(db.host(), db.port(), db.user(), db.password(),
          db.databaseName(), table, namespace, keyTemplates, "version", serverId, name, stateDirectory,
          redisAddress(), firstStart(), progressInterval, throughKafka ? KafkaChangePath.source(stack, name, true)
          : null), LIVE_TIMEOUT);
    } else {
      startInThisJvm(db, name);
    }
    if (throughKafka) {
      // Live means joined; the run's table topic is found by the next topic refresh: be sure it is read first.
      try {
        awaitCaughtUp(LIVE_TIMEOUT);
      } catch (java.sql.SQLException e) {
        throw new IllegalStateException("CDC listener " + name + " through Kafka: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private void startInThisJvm(DatabaseServer db, String name) {
    CdcOptions.Builder options = CdcOptions.builder();
    if (progressInterval != null) {
      options.progressInterval(progressInterval);
    }
    if (ignoreRedisDataLoss) {
      options.redisDataLossPolicy(CdcOptions.RedisDataLossPolicy.IGNORE);
    }
    if (throughKafka) {
      options.kafka(KafkaChangePath.source(stack, name, false));
    }
    if (awaitReplica) {
      options.redisDurability(1, false, REPLICA_WAIT);
    }
    inProcess = CdcInvalidator.start(options
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(serverId).name(name)
        .redis((clusterSeeds.isEmpty() ? VeracacheOptions.builder(stack.redis().uri())
            : VeracacheOptions.clusterBuilder(clusterSeeds)).commandTimeout(Duration.ofMillis(300)).build())
        .mappings(mappings(db))
        .stateDirectory(stateDirectory)
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .firstStart(firstStart())
        .meterRegistry(new SimpleMeterRegistry())
        .build(), hooks);
    if (!inProcess.awaitLive(LIVE_TIMEOUT)) {
      Throwable failure = inProcess.failure();
      inProcess.close();
      inProcess = null;
      throw new IllegalStateException("CDC listener " + name + " did not become live"
          + (failure == null ? "" : ": " + failure.getMessage()));
    }
  }

  /** The listener's name (its progress field, its marker rows, its logs). */
  public String name() {
    return "chaos-" + serverId;
  }

  /**
   * Quiescence: waits until the listener has applied every commit acknowledged before this call (it reached the
   * binlog head), at most {@code timeout}; see {@link ListenerCatchUp}. Through Kafka, also until its group committed
   * every partition of the table's topic to its end (the marker proves only its own partition).
   *
   * @return how long it took
   * @throws IllegalStateException naming the listener and how it stands if it stopped or did not get there in time
   */
  public Duration awaitCaughtUp(Duration timeout) throws SQLException, InterruptedException {
    ListenerCatchUp.Listener watched = new ListenerCatchUp.Listener() {
      @Override
      public String name() {
        return CdcInvalidatorControl.this.name();
      }

      @Override
      public String stoppedBecause() {
        return CdcInvalidatorControl.this.stoppedBecause();
      }

      @Override
      public String describe() {
        return CdcInvalidatorControl.this.describe();
      }
    };
    long started = System.nanoTime();
    Duration caughtUp = ListenerCatchUp.await(stack.database(), redisAddress(), table, namespace, watched, timeout);
    if (throughKafka && !KafkaChangePath.awaitCommittedToEnd(stack, name(), stack.database().databaseName(), table,
        timeout.minus(caughtUp).compareTo(MIN_COMMIT_WAIT) < 0 ? MIN_COMMIT_WAIT : timeout.minus(caughtUp))) {
      throw new IllegalStateException("CDC listener " + name() + " through Kafka applied the quiescence marker but did "
          + "not commit every partition of its table's topic to its end within " + timeout + "; " + describe());
    }
    return Duration.ofNanos(System.nanoTime() - started);
  }

  /** Why the listener is not running (never started, closed, its JVM exited, it failed), or null while it runs. */
  public synchronized String stoppedBecause() {
    if (separateProcess) {
      if (process == null) {
        return "its JVM is not running (not started, or closed)";
      }
      if (!process.isAlive()) {
        return "its JVM (pid " + process.pid() + ") exited with code " + process.exitCode().orElse(-1)
            + "; last output:\n" + process.lastOutput();
      }
      return null;
    }
    if (inProcess == null) {
      return "it is not running (not started, or closed)";
    }
    Throwable failure = inProcess.failure();
    return failure == null ? null : "it failed: " + failure;
  }

  /** How the listener stands, for messages: its state, or its JVM's pid and last output lines. */
  public synchronized String describe() {
    String stopped = stoppedBecause();
    if (stopped != null) {
      return stopped;
    }
    if (separateProcess) {
      List<String> lines = List.of(process.lastOutput().split("\n"));
      return "its own JVM (pid " + process.pid() + "), running; last output:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 10), lines.size()));
    }
    return "in this JVM, " + inProcess.status();
  }

  private CdcOptions.FirstStartPolicy firstStart() {
    return forgetful ? CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL : CdcOptions.FirstStartPolicy.FLUSH_NAMESPACES;
  }

  private InvalidationMappings mappings(DatabaseServer db) {
    InvalidationMappings.TableBuilder mapping = InvalidationMappings.builder()
        .table(db.databaseName() + "." + table).namespace(namespace).version("version");
    keyTemplates.forEach(mapping::key);
    return mapping.add().build();
  }

  /**
   * R6: the separate listener halts when it receives its next batch, before applying it.
   *
   * @return whether it did (exit code 137); false if no batch came within {@code timeout} and it was killed instead
   */
  synchronized boolean crashBeforeNextApply(Duration timeout) {
    requireProcess("crash").crashBeforeNextApply();
    if (!process.awaitExit(timeout)) {
      log.warn("listener did not receive a batch within {}: killing it instead", timeout);
      process.kill();
      return false;
    }
    return process.exitCode().orElse(-1) == CdcInvalidatorMain.EXIT_CRASHED;
  }

  /** The listener's own JVM as it runs now (after a restart, the new one). */
  synchronized CdcInvalidatorProcess process() {
    return requireProcess("look at the JVM of");
  }

  synchronized void pause() {
    requireProcess("pause").pause();
  }

  synchronized void resume() {
    if (process != null && process.isAlive()) {
      process.resume();
    }
  }

  /**
   * Restarts the listener if it died or failed; returns once it is live. The forgetful baseline restarts from a
   * fresh state directory.
   */
  synchronized void ensureLive() {
    boolean running = separateProcess ? process != null && process.isAlive()
        : inProcess != null && inProcess.failure() == null;
    if (running) {
      return;
    }
    log.info("restarting the CDC listener ({})", forgetful ? "position forgotten" : "from its stored position");
    stopQuietly();
    if (forgetful) {
      deleteQuietly(stateDirectory);
      stateDirectory = newStateDirectory();
    }
    start();
  }

  private CdcInvalidatorProcess requireProcess(String what) {
    if (process == null) {
      throw new IllegalStateException("cannot " + what + " the CDC listener: it does not run in its own process");
    }
    return process;
  }

  private void stopQuietly() {
    if (process != null) {
      log.debug("listener process {} last output:\n{}", process.pid(), process.lastOutput());
      process.close();
      process = null;
    }
    if (inProcess != null) {
      inProcess.close();
      inProcess = null;
    }
  }

  private static Path newStateDirectory() {
    try {
      return Files.createTempDirectory("chaos-cdc");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a state directory for the CDC listener", e);
    }
  }

  /** Stops the listener and deletes its state directory: a run leaves nothing in the temporary directory. */
  @Override
  public synchronized void close() {
    stopQuietly();
    deleteQuietly(stateDirectory);
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot delete the CDC listener's state directory {}: {}", dir, e.toString());
    }
  }
}
