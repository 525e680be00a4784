package dev.veracache.chaos;

import dev.veracache.chaos.Scenario.Fault;
import dev.veracache.chaos.Scenario.Strategy;
import dev.veracache.chaos.fault.HeapWriteBehindProcess;
import dev.veracache.chaos.fault.TcpProxy;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.commons.math3.distribution.ZipfDistribution;
import org.apache.commons.math3.random.Well19937c;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one strategy of one {@link Scenario} on the embedded stack: readers on every instance and the writers, for the
 * scenario's duration, with its fault; then ends the race injections, heals the fault (the CDC listener back and
 * live), lets W and the listener's catch-up pass (quiescence), compares every instance's cache and Redis with the
 * database key by key, and hands the history to the {@link Checker}.
 */
public final class ScenarioRunner {

  /** One run's outcome. */
  public record Run(Scenario scenario, Strategy strategy, long seed, Report report) {
    public List<String> violations() {
      return Expectations.violations(scenario, strategy, report);
    }

    public String verdict() {
      return Expectations.verdict(scenario, strategy, report);
    }

    /** The report's cells and the verdict: a row of the CLI's table. */
    List<String> cells() {
      List<String> cells = new ArrayList<>(report.cells());
      cells.add(verdict());
      return cells;
    }
  }

  private static final Logger log = LoggerFactory.getLogger(ScenarioRunner.class);
  private static final AtomicInteger RUNS = new AtomicInteger();
  private static final double ZIPF_EXPONENT = 1.1;
  private static final int WRITE_BEHIND_FLUSH_MILLIS = 500;

  private ScenarioRunner() {}

  /** Runs every strategy of the scenario with the seed. */
  public static List<Run> runAll(EmbeddedStack stack, Scenario scenario, long seed) throws Exception {
    List<Run> runs = new ArrayList<>();
    for (Strategy strategy : scenario.strategies()) {
      runs.add(run(stack, scenario, strategy, seed));
    }
    return runs;
  }

  /**
   * Makes the cache instances of a run. The default makes the strategy's own; the chaos tests pass deliberately broken
   * ones, judged as the strategy they stand in for, to prove the verdict can fail.
   */
  @FunctionalInterface
  interface InstanceFactory {
    InstanceFactory OF_THE_STRATEGY = ScenarioRunner::create;

    CacheUnderTest create(RunContext context, int instance, String redisUri);
  }

  public static Run run(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed) throws Exception {
    return run(stack, scenario, strategy, seed, InstanceFactory.OF_THE_STRATEGY);
  }

  static Run run(EmbeddedStack stack, Scenario scenario, Strategy strategy, long seed, InstanceFactory factory)
      throws Exception {
    int run = RUNS.incrementAndGet();
    String id = ProcessHandle.current().pid() + "_" + run;
    String label = scenario.race() + " " + scenario.title() + " / " + strategy.label + " (seed " + seed + ")";
    log.info("running {}", label);
    Workload workload = new Workload(stack.database(), "chaos_" + id, scenario);
    try {
      Report report = strategy == Strategy.HEAP_WRITE_BEHIND
          ? runWriteBehindCrash(stack, scenario, workload, label, seed)
          : runCaches(stack, scenario, strategy, workload, "chaos" + id, 7100 + run, label, seed, factory);
      return new Run(scenario, strategy, seed, report);
    } finally {
      dropTables(stack.database(), workload.table);
    }
  }

  private static Report runCaches(EmbeddedStack stack, Scenario scenario, Strategy strategy, Workload workload,
      String namespace, long serverId, String label, long seed, InstanceFactory factory) throws Exception {
    History history = new History();
    WriteSignals signals = new WriteSignals();
    RunContext context = new RunContext(scenario, strategy, workload, history, signals, namespace);
    boolean listenerProcess = scenario.fault() == Fault.LISTENER_CRASH || scenario.fault() == Fault.LISTENER_PAUSE;
    List<AutoCloseable> resources = new ArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger writeFailures = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    Faults faults = null;
    try {
      CdcInvalidatorControl listener = null;
      if (strategy.usesCdc) {
        listener = new CdcInvalidatorControl(stack, workload.table, namespace, scenario.alternateKeys(), serverId,
            listenerProcess, strategy == Strategy.FORGETFUL_CDC, scenario.listenerProgressInterval(strategy),
            strategy == Strategy.CDC_NO_LOSS_CHECK, context.cdcHooks);
        resources.add(listener);
        listener.start();
      }
      List<TcpProxy> proxies = new ArrayList<>();
      List<CacheUnderTest> instances = new ArrayList<>();
      for (int i = 0; i < scenario.instances(); i++) {
        String uri = stack.redis().uri();
        if (needsProxy(scenario.fault())) {
          TcpProxy proxy = TcpProxy.start("chaos-" + i, stack.redis().host(), stack.redis().port());
          resources.add(proxy);
          proxies.add(proxy);
          uri = proxy.proxiedRedisUri(uri);
        }
        CacheUnderTest instance = factory.create(context, i, uri);
        resources.add(instance);
        instances.add(instance);
      }
      faults = new Faults(stack, scenario, context, proxies, listener);
      faults.prepare();
      for (int i = 0; i < instances.size(); i++) {
        for (int r = 0; r < scenario.readersPerInstance(); r++) {
          int instance = i;
          long readerSeed = seed * 31 + i * 7L + r + 1;
          boolean racing = scenario.readerRaces(r);
          threads.add(start("chaos-reader-" + i + "-" + r, () -> {
            RunContext.racing(racing);
            RunContext.readerOf(instance);
            readLoop(instances.get(instance), instance, context, rows(scenario, readerSeed), new Random(readerSeed),
                running);
          }));
        }
      }
      for (int w = 0; w < scenario.writers(); w++) {
        long writerSeed = scenario.writersShareKeys() ? seed : seed + 1000L * w;
        long writerId = w;
        boolean deletesOnly = w >= scenario.writers() - scenario.deleteOnlyWriters();
        boolean racing = scenario.writerRaces(w);
        threads.add(start("chaos-writer-" + w, () -> {
          RunContext.racing(racing);
          writeLoop(stack.database(), context, instances, rows(scenario, writerSeed),
              new Random(writerSeed * 13 + writerId), deletesOnly, writeFailures, running);
        }));
      }
      faults.inject();
      running.set(false);
      faults.releaseHolds();
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
      if (writeFailures.get() > 0) {
        log.warn("{}: {} writes failed: a database error (not recorded) or a post-write step that threw after the "
            + "commit (recorded, never settled); each is logged at DEBUG", label, writeFailures.get());
      }
      for (CacheUnderTest instance : instances) {
        instance.addMeasures(context.measures);
      }
      faults.heal();
      awaitQuiescence(listener, scenario, label);
      int staleKeys = staleKeysAfterQuiescence(stack, workload, instances, namespace);
      int lostWrites = LostWrites.find(history, workload, label).size();
      Report report = Checker.check(label, history, Duration.ofMillis(scenario.windowMillis()), staleKeys, lostWrites)
          .withFaultMeasures(context.measures.result());
      if (!strategy.baseline && report.staleReads() > 0) {
        log.warn("{}: stale reads (first per key, with the key's writes around them):\n  {}", label, String.join(
            "\n  ", Checker.describeStaleReads(history, Duration.ofMillis(scenario.windowMillis()), 10)));
      }
      return report;
    } finally {
      running.set(false);
      signals.release();
      try {
        if (faults != null) {
          faults.releaseHolds();
          faults.heal();
        } else {
          Faults.healAfterFailure(stack, scenario);
        }
      } catch (RuntimeException e) {
        log.error("{}: could not heal the servers after the run: {}", label, e.toString());
      }
      for (int i = resources.size() - 1; i >= 0; i--) {
        try {
          resources.get(i).close();
        } catch (Exception e) {
          log.warn("closing {} failed: {}", resources.get(i), e.toString());
        }
      }
    }
  }

  private static boolean needsProxy(Fault fault) {
    return fault == Fault.REDIS_LATENCY || fault == Fault.PARTITION_INSTANCE || fault == Fault.DROP_CONNECTIONS;
  }

  private static CacheUnderTest create(RunContext context, int instance, String redisUri) {
    // Short timeouts for the naive clients too: a paused Redis must cost a timeout, not a minute.
    String naiveUri = redisUri + (redisUri.contains("?") ? "&" : "?") + "timeout=300ms";
    return switch (context.strategy) {
      case NAIVE, DOUBLE_DELETE, NAIVE_WRITE_THROUGH -> new NaiveRedisStrategy(context, naiveUri);
      case NAIVE_TWO_LEVEL -> new NaiveTwoLevelStrategy(context, naiveUri);
      case VERSION_FENCE_ONLY -> new VersionFenceOnlyStrategy(context, naiveUri);
      case FORGETFUL_CDC, CDC_ONLY_UNBOUNDED, CDC_NO_LOSS_CHECK, VERACACHE_CACHE_ASIDE, VERACACHE_READ_THROUGH, VERACACHE_WRITE_THROUGH,
          VERACACHE_CDC_ONLY -> new VeracacheStrategy(context, instance, redisUri);
      case HEAP_WRITE_BEHIND -> throw new IllegalArgumentException("HEAP_WRITE_BEHIND has no cache instances");
    };
  }

  /**
   * R8: a heap-queue write-behind in its own JVM acknowledges writes at the scenario's rate and is killed (SIGKILL)
   * two thirds into the run; every acknowledged write whose version the database does not have is lost.
   */
  private static Report runWriteBehindCrash(EmbeddedStack stack, Scenario scenario, Workload workload, String label,
      long seed) throws Exception {
    History history = new History();
    DatabaseServer db = stack.database();
    List<HeapWriteBehindProcess.Ack> acks;
    try (HeapWriteBehindProcess process = HeapWriteBehindProcess.start(new HeapWriteBehindProcess.Spec(
        db.jdbcUrl(), db.user(), db.password(), workload.table, scenario.keys(), scenario.writesPerSecond(),
        WRITE_BEHIND_FLUSH_MILLIS, seed), Duration.ofSeconds(60))) {
      Thread.sleep(scenario.seconds() * 2000L / 3);
      history.faultStarted();
      process.kill();
      history.faultEnded();
      acks = process.acks();
    }
    for (HeapWriteBehindProcess.Ack ack : acks) {
      history.write(ack.key(), ack.version(), ack.ackNanos());
    }
    List<HeapWriteBehindProcess.Ack> lost = HeapWriteBehindProcess.lostWrites(acks, key -> {
      try {
        return workload.load(key);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the committed version of " + key + ": " + e.getMessage(), e);
      }
    });
    return Checker.check(label, history, Duration.ofMillis(scenario.windowMillis()), 0, lost.size());
  }

  private static Thread start(String name, Runnable work) {
    Thread thread = new Thread(work, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** One thread's row chooser: ZipfDistribution is not thread-safe, so each thread has its own. */
  private static ZipfDistribution rows(Scenario scenario, long seed) {
    return new ZipfDistribution(new Well19937c(seed), scenario.keys(), ZIPF_EXPONENT);
  }

  /** Reads at the scenario's pace: a read owed after a race when one has come due, else a key by Zipf. */
  private static void readLoop(CacheUnderTest cache, int instance, RunContext context, ZipfDistribution rows,
      Random random, AtomicBoolean running) {
    History history = context.history;
    Pacer pacer = new Pacer(context.scenario.readsPerSecondPerReader());
    while (running.get()) {
      pacer.awaitNext();
      RunContext.OwedRead owed = context.owedRead();
      String key = owed != null ? owed.key() : context.workload.cacheKey(rows.sample() - 1, random);
      long start = System.nanoTime();
      RunContext.beginRead();
      try {
        long version = cache.read(key);
        history.read(key, version, start, System.nanoTime(), instance, RunContext.endRead());
      } catch (Exception e) {
        RunContext.endRead();
        history.read(key, History.NOT_FOUND, start, System.nanoTime(), instance, History.Level.FAILED);
      }
    }
  }

  /**
   * Writes at the scenario's rate (shared by the writers), each write's post-write steps done by the next instance in
   * turn. A failed write (the database restarting) is counted, and the writer reconnects and goes on.
   */
  private static void writeLoop(DatabaseServer db, RunContext context, List<CacheUnderTest> instances,
      ZipfDistribution rows, Random random, boolean deletesOnly, AtomicInteger failures, AtomicBoolean running) {
    Scenario scenario = context.scenario;
    Pacer pacer = new Pacer((double) scenario.writesPerSecond() / scenario.writers());
    int n = 0;
    Connection connection = null;
    while (running.get()) {
      pacer.awaitNext();
      try {
        if (connection == null) {
          connection = db.connect();
          connection.setAutoCommit(false);
        }
        instances.get(n++ % instances.size()).write(context.new Writer(connection, random, deletesOnly),
            rows.sample() - 1);
      } catch (Exception e) {
        failures.incrementAndGet();
        log.debug("write failed, reconnecting: {}", e.toString());
        closeQuietly(connection);
        connection = null;
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
    }
    closeQuietly(connection);
  }

  /** Keeps a loop at a rate: each call returns at the next slot (at once when the loop is behind). */
  private static final class Pacer {
    private final long intervalNanos;
    private long next = System.nanoTime();

    Pacer(double perSecond) {
      this.intervalNanos = (long) (TimeUnit.SECONDS.toNanos(1) / perSecond);
    }

    void awaitNext() {
      next += intervalNanos;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
    }
  }

  private static void closeQuietly(Connection connection) {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("closing a writer connection failed: {}", e.toString());
      }
    }
  }

  /**
   * Quiescence after healing: with a CDC listener, first until it has applied everything up to the binlog head (at
   * most {@link ListenerCatchUp#TIMEOUT}; a listener that cannot get there fails the run), then W, the caches' own
   * catch-up (tracking pushes to L1). Without a listener, W.
   */
  private static void awaitQuiescence(CdcInvalidatorControl listener, Scenario scenario, String label)
      throws SQLException, InterruptedException {
    if (listener != null) {
      try {
        listener.awaitCaughtUp(ListenerCatchUp.TIMEOUT);
      } catch (IllegalStateException e) {
        throw new IllegalStateException(label + ": quiescence not reached: " + e.getMessage(), e);
      }
    }
    Thread.sleep(scenario.windowMillis());
  }

  /**
   * Keys whose entry in Redis or in any instance's L1, each looked at directly, differs from the database (see
   * {@link QuiescenceComparison}); a level that cannot be read fails the run.
   */
  private static int staleKeysAfterQuiescence(EmbeddedStack stack, Workload workload, List<CacheUnderTest> instances,
      String namespace) {
    return QuiescenceComparison.staleKeys(stack.redis().uri(), workload, instances, namespace).size();
  }

  private static void dropTables(DatabaseServer db, String table) {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_seq");
    } catch (SQLException e) {
      log.warn("could not drop {}: {}", table, e.getMessage());
    }
  }

  /** Runs a Redis command on a connection of its own (fault injection). */
  static void redisCommand(EmbeddedStack stack, Consumer<RedisCommands<String, String>> command) {
    RedisClient client = RedisClient.create(stack.redis().uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      command.accept(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
