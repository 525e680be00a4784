package dev.veracache.chaos;

import dev.veracache.chaos.fault.RedisMemoryPressure;
import dev.veracache.chaos.fault.RedisSnapshot;
import dev.veracache.chaos.fault.TcpProxy;
import dev.veracache.stack.EmbeddedStack;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Injects a scenario's fault while its workload runs, and heals it. Timed faults are active for
 * {@link Scenario#faultFraction()} of the run, centred in it (the middle third by default; recorded in the history as
 * the fault window); race injections (FILL_RACE and the like) act through {@link RunContext} for the whole run.
 * {@link #heal()} undoes every fault there is, whatever was injected, and returns once the CDC listener is live again:
 * quiescence starts from there. A crashed listener is restarted only there, after the workload stopped, so that
 * everything written since the crash must come from its stored position.
 *
 * <p>Invariants: {@link #heal()} is idempotent and leaves Redis as the run found it (a primary, running, not paused,
 * its memory limit, eviction policy and keyspace events restored, no snapshot file left for a later restart to load);
 * what a fault did is counted in the run's {@link FaultMeasures}.
 */
final class Faults {

  private static final Logger log = LoggerFactory.getLogger(Faults.class);
  static final String TRUNCATES = "tables truncated";
  static final String KEYS_RESTORED = "keys restored from an old snapshot";
  static final String KEYS_EVICTED = "keys evicted";
  /** DROP_CONNECTIONS: how long new connections are refused after every open one was closed. */
  static final long DROP_REFUSAL_MILLIS = 300;

  private final EmbeddedStack stack;
  private final Scenario scenario;
  private final RunContext context; // null when healing after a run that failed before it had one
  private final List<TcpProxy> proxies;
  private final CdcInvalidatorControl listener;
  private RedisSnapshot snapshot;
  private long pausedAtNanos;
  private RedisMemoryPressure memoryPressure;

  Faults(EmbeddedStack stack, Scenario scenario, RunContext context, List<TcpProxy> proxies,
      CdcInvalidatorControl listener) {
    this.stack = stack;
    this.scenario = scenario;
    this.context = context;
    this.proxies = proxies;
    this.listener = listener;
    switch (context == null ? Scenario.Fault.NONE : scenario.fault()) {
      case TRUNCATE -> context.measures.requirePositive(TRUNCATES);
      case REDIS_OLD_SNAPSHOT -> context.measures.requirePositive(KEYS_RESTORED);
      case EVICTION_RACE -> context.measures.requirePositive(KEYS_EVICTED);
      default -> { }
    }
  }

  /** Heals whatever a run left broken, when the run failed before it had its own Faults. */
  static void healAfterFailure(EmbeddedStack stack, Scenario scenario) {
    new Faults(stack, scenario, null, List.of(), null).heal();
  }

  /**
   * Race injections that need Redis prepared before the workload starts: EVICTION_RACE puts it under memory pressure
   * (lifted by {@link #heal()}) and hands the pressure to the run's holds.
   */
  void prepare() {
    if (scenario.fault() == Scenario.Fault.EVICTION_RACE) {
      memoryPressure = RedisMemoryPressure.start(stack.redis().uri(), RedisMemoryPressure.Spec.of(
          scenario.evictionPolicy(), scenario.memoryHeadroomKib() * 1024L));
      context.memoryPressure = memoryPressure;
    }
  }

  /** The workload stopped: every race injection's hold ends now (the write signals' and the eviction waits). */
  void releaseHolds() {
    if (context != null) {
      context.signals.release();
    }
    if (memoryPressure != null) {
      memoryPressure.releaseWaiters();
    }
  }

  /** Runs the workload's duration with the fault; returns when the workload should stop. */
  void inject() throws InterruptedException, SQLException {
    long total = scenario.seconds() * 1000L;
    if (!scenario.fault().timed) {
      Thread.sleep(total); // a race injection acts for the whole run: no fault window (the checker's whole run)
      return;
    }
    long active = Math.max(1, Math.round(total * scenario.faultFraction()));
    long before = (total - active) / 2;
    Thread.sleep(before);
    log.info("fault {} on", scenario.fault());
    context.history.faultStarted();
    long started = System.nanoTime();
    start();
    long left = active - (System.nanoTime() - started) / 1_000_000;
    if (left > 0) {
      Thread.sleep(left);
    }
    end();
    context.history.faultEnded();
    log.info("fault {} healed", scenario.fault());
    Thread.sleep(total - before - active);
  }

  private void start() throws SQLException {
    switch (scenario.fault()) {
      case REDIS_READONLY -> ScenarioRunner.redisCommand(stack, c -> c.replicaof("127.0.0.1", 1)); // no primary there
      case REDIS_PAUSE -> stack.redis().pause();
      case REDIS_RESTART -> stack.redis().stop(); // no persistence: its data is gone when it starts again
      case REDIS_LATENCY -> proxies.forEach(p -> p.latency(Duration.ofMillis(scenario.latencyMillis())));
      case PARTITION_INSTANCE -> proxies.get(proxies.size() - 1).partition();
      case DROP_CONNECTIONS -> {
        // A network blip: every connection closed, new ones refused for a moment, then the clients reconnect.
        proxies.forEach(TcpProxy::partition);
        sleepQuietly(DROP_REFUSAL_MILLIS);
        proxies.forEach(TcpProxy::heal);
      }
      case LISTENER_CRASH -> listener.crashBeforeNextApply(Duration.ofMillis(scenario.seconds() * 1000L / 3));
      case LISTENER_PAUSE -> {
        listener.pause();
        pausedAtNanos = System.nanoTime();
      }
      case DB_RESTART -> stack.database().stop();
      case REDIS_OLD_SNAPSHOT -> {
        snapshot = RedisSnapshot.take(stack.redis(), context.namespace + ":");
        context.measures.add("keys in the snapshot", snapshot.keysAtSave());
      }
      case TRUNCATE -> truncate();
      default -> throw new IllegalStateException("no timed fault " + scenario.fault());
    }
  }

  private void end() {
    switch (scenario.fault()) {
      case REDIS_READONLY -> ScenarioRunner.redisCommand(stack, c -> c.replicaofNoOne());
      case REDIS_PAUSE -> stack.redis().resume();
      case REDIS_RESTART -> stack.redis().start();
      case REDIS_LATENCY -> proxies.forEach(p -> p.latency(Duration.ZERO));
      case PARTITION_INSTANCE -> proxies.get(proxies.size() - 1).heal();
      case DROP_CONNECTIONS -> { } // one drop; the clients reconnect by themselves
      case LISTENER_CRASH -> { } // it stays down until heal(): every write since the crash is its backlog
      case LISTENER_PAUSE -> {
        listener.resume();
        context.measures.add("listener paused ms", (System.nanoTime() - pausedAtNanos) / 1_000_000);
      }
      case DB_RESTART -> {
        stack.database().start();
        if (listener != null) {
          listener.ensureLive();
        }
      }
      case REDIS_OLD_SNAPSHOT -> {
        long age = snapshot.ageMillis();
        snapshot.restartFromSnapshot();
        snapshot.close(); // loaded: a later restart must start empty again
        context.measures.add(KEYS_RESTORED, snapshot.keysRestored());
        context.measures.add("snapshot age ms", age);
      }
      case TRUNCATE -> { } // one TRUNCATE; the writers insert the rows again
      default -> throw new IllegalStateException("no timed fault " + scenario.fault());
    }
  }

  /** R16: truncates the workload's table; every row counts as deleted at a version of its own (see Workload). */
  private void truncate() throws SQLException {
    long started = System.nanoTime();
    List<History.Write> deletes = context.workload.truncate();
    for (History.Write delete : deletes) {
      context.history.write(delete.key(), delete.version(), delete.sentNanos(), delete.commitNanos(), true);
      context.signals.committed(delete.key(), delete.version(), delete.commitNanos());
      context.signals.settled(delete.key(), delete.version(), true); // no post-write step: nobody is told
    }
    context.measures.increment(TRUNCATES);
    context.measures.add("truncate ms", (System.nanoTime() - started) / 1_000_000);
    log.info("truncated {} ({} cache keys now deleted)", context.workload.table, deletes.size());
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Undoes every fault (idempotent); returns once the CDC listener, if any, is live. */
  void heal() {
    if (memoryPressure != null) {
      try {
        if (context != null) {
          context.measures.add(KEYS_EVICTED, memoryPressure.evictedKeys());
        }
      } finally {
        memoryPressure.close();
        memoryPressure = null;
      }
    }
    if (snapshot != null) {
      snapshot.close(); // before any start below: a Redis started now must not load it
    }
    if (stack.redis().controllable()) {
      if (stack.redis().isPaused()) {
        stack.redis().resume();
      }
      if (!stack.redis().isRunning()) {
        stack.redis().start();
      }
    }
    try {
      ScenarioRunner.redisCommand(stack, c -> c.replicaofNoOne());
    } catch (RuntimeException e) {
      log.warn("cannot make Redis a primary again: {}", e.toString());
    }
    if (stack.database().controllable() && !stack.database().isRunning()) {
      stack.database().start();
    }
    for (TcpProxy proxy : proxies) {
      proxy.heal();
      proxy.latency(Duration.ZERO);
    }
    if (listener != null) {
      listener.resume();
      listener.ensureLive();
    }
  }
}
