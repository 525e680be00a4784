package dev.veracache.chaos;

import dev.veracache.CacheHooks;
import dev.veracache.CacheLoader;
import java.sql.Connection;
import java.util.Random;

/**
 * What every strategy instance of one run shares: the scenario, the workload, the history, the write signals, the
 * race injections (as {@link CacheHooks}) and the instrumented loader. Also attributes each read to the level that
 * answered it: a read starts as L1, becomes L2 when Redis had an answer for it (or it waited for another loader's
 * fill), and DATABASE when it ran the loader (a thread-local, since cache code calls hooks and loaders on the reader's thread).
 */
final class RunContext {

  private static final ThreadLocal<History.Level> LEVEL = new ThreadLocal<>();

  final Scenario scenario;
  final Scenario.Strategy strategy;
  final Workload workload;
  final History history;
  final WriteSignals signals;
  final String namespace;
  /** Race injections plus level attribution, for the caches' hooks. */
  final CacheHooks hooks;
  /** The database read behind every cache: recorded as a load, attributed, slowed by {@code loadDelayMillis}. */
  final CacheLoader<String, String> loader = this::load;

  RunContext(Scenario scenario, Scenario.Strategy strategy, Workload workload, History history,
      WriteSignals signals, String namespace) {
    this.scenario = scenario;
    this.strategy = strategy;
    this.workload = workload;
    this.history = history;
    this.signals = signals;
    this.namespace = namespace;
    this.hooks = new RaceHooks();
  }

  /** The cache key of a full Redis key ({@code namespace:key}). */
  String keyOf(String redisKey) {
    int colon = redisKey.indexOf(':');
    return colon < 0 ? redisKey : redisKey.substring(colon + 1);
  }

  static void beginRead() {
    LEVEL.set(History.Level.L1);
  }

  static History.Level endRead() {
    History.Level level = LEVEL.get();
    LEVEL.remove();
    return level == null ? History.Level.CACHE : level;
  }

  static void answeredByRedis() {
    if (LEVEL.get() == History.Level.L1) {
      LEVEL.set(History.Level.L2);
    }
  }

  private String load(String key) throws Exception {
    long start = System.nanoTime();
    if (LEVEL.get() != null) {
      LEVEL.set(History.Level.DATABASE);
    }
    try {
      if (scenario.loadDelayMillis() > 0) {
        Thread.sleep(scenario.loadDelayMillis()); // the injected slow query (R9)
      }
      long version = workload.load(key);
      return version == History.NOT_FOUND ? null : Long.toString(version);
    } finally {
      history.load(key, start, System.nanoTime());
    }
  }

  /** Holds a fill until a write that committed after its load settled (R1, R3; then longer for R12). */
  void holdFill(String key) {
    if (scenario.fault() != Scenario.Fault.FILL_RACE || !signals.holding()) {
      return;
    }
    boolean overtaken = signals.awaitSettledAfter(key, signals.lastCommitted(key), scenario.raceHoldMillis());
    if (overtaken && scenario.fillDelayAfterWriteMillis() > 0) {
      sleep(scenario.fillDelayAfterWriteMillis()); // outlive short tombstones (R12)
    }
  }

  /** Holds a Redis reply until a newer write settled (R7). Returns whether one did. */
  boolean holdRedisReply(String key) {
    if (scenario.fault() != Scenario.Fault.GET_REPLY_RACE || !signals.holding()) {
      return false;
    }
    return signals.awaitSettledAfter(key, signals.lastCommitted(key), scenario.raceHoldMillis());
  }

  /** Holds a write-through set of {@code version} until a newer write's set settled (R4). */
  void holdSet(String key, long version) {
    if (scenario.fault() == Scenario.Fault.SET_REORDER && signals.holding()) {
      signals.awaitSettledAfter(key, version, scenario.raceHoldMillis());
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The race injections as the library's hooks, for Veracache and the naive caches alike. */
  private final class RaceHooks implements CacheHooks {
    @Override
    public void afterRedisRead(String redisKey) {
      answeredByRedis();
      holdRedisReply(keyOf(redisKey));
    }

    @Override
    public void afterLoad(String redisKey) {
      holdFill(keyOf(redisKey));
    }

    @Override
    public void beforeLeaseWait(String redisKey) {
      answeredByRedis(); // another instance's fill, read from Redis, unless the wait ends in a load of its own
    }

    @Override
    public void beforeVersionedSet(String redisKey, long version) {
      holdSet(keyOf(redisKey), version);
    }
  }

  /** One writer thread's connection and randomness; commits through the workload and records what it did. */
  final class Writer {
    final Connection connection;
    final Random random;

    Writer(Connection connection, Random random) {
      this.connection = connection;
      this.random = random;
    }

    /** Commits one write of the row, records it in the history and the signals. */
    Workload.Commit commit(int row) throws Exception {
      Workload.Commit commit = workload.write(connection, row, random);
      long now = System.nanoTime();
      for (History.Write effect : commit.effects()) {
        history.write(effect.key(), effect.version(), now, effect.deleted());
        signals.committed(effect.key(), effect.version());
      }
      return commit;
    }

    /** The strategy's post-write steps for this commit are done. */
    void settle(Workload.Commit commit) {
      for (History.Write effect : commit.effects()) {
        signals.settled(effect.key(), effect.version());
      }
    }
  }
}
