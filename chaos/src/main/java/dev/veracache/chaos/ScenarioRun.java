package dev.veracache.chaos;

import dev.veracache.chaos.check.Checker;
import dev.veracache.chaos.check.LostWrites;
import dev.veracache.chaos.check.QuiescenceComparison;
import dev.veracache.chaos.check.RedisReader;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.fault.CdcInvalidatorControl;
import dev.veracache.chaos.fault.Fault;
import dev.veracache.chaos.fault.FaultRegistry;
import dev.veracache.chaos.fault.FaultTarget;
import dev.veracache.chaos.fault.InstanceNetwork;
import dev.veracache.chaos.fault.ListenerCatchUp;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.strategy.CacheUnderTest;
import dev.veracache.chaos.strategy.StrategyRegistry.InstanceFactory;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.chaos.workload.WriteSignals;
import dev.veracache.stack.EmbeddedStack;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of one strategy of a {@link Scenario} with cache instances, in phases: {@link #prepare} (the CDC listener,
 * the proxies, the instances, the fault's preparation), {@link #startWorkload} (readers and writers: the run's first
 * part, before a timed fault, warms the caches up), {@link #runFault} (the scenario's duration with its fault window),
 * {@link #stopWorkload} (race injections' holds end, threads joined), {@link #heal} (the fault, then the servers: the
 * CDC listener back and live), {@link #quiesce} (the listener's catch-up, then W), {@link #compare} (every instance's
 * L1 and Redis with the database, key by key) and {@link #check} (lost writes, then the history to the
 * {@link Checker}).
 *
 * <p>Invariants: a run object is used once; whatever phase fails, {@link #run()} releases every hold, heals the fault
 * and the servers, and closes what it opened, newest first; the fault's proving measures are declared before anything
 * runs.
 */
final class ScenarioRun {

  private static final Logger log = LoggerFactory.getLogger(ScenarioRunner.class);

  private final EmbeddedStack stack;
  private final Scenario scenario;
  private final Strategy strategy;
  private final Workload workload;
  private final String namespace;
  private final long serverId;
  private final String label;
  private final long seed;
  private final InstanceFactory factory;
  private final History history = new History();
  private final WriteSignals signals = new WriteSignals();
  private final Fault fault;
  private final RunContext context;
  private final WorkloadThreads threads;
  /** Closed in reverse order once the run ends. */
  private final List<AutoCloseable> resources = new ArrayList<>();
  private final List<CacheUnderTest> instances = new ArrayList<>();
  private CdcInvalidatorControl listener;
  /** The CDC listener reads the change stream through Kafka (Connect and a consumer group), not the binlog. */
  private final boolean throughKafka;
  /** The caches and the listener use the embedded Redis Cluster, not the single Redis. */
  private final boolean onCluster;
  /** Set once the instances exist: what the fault acts on. */
  private FaultTarget target;

  ScenarioRun(EmbeddedStack stack, Scenario scenario, Strategy strategy, Workload workload, String namespace,
      long serverId, String label, long seed, InstanceFactory factory, boolean throughKafka, boolean onCluster) {
    this.throughKafka = throughKafka;
    this.onCluster = onCluster || scenario.fault().kind().onRedisCluster();
    if (this.onCluster && (!strategy.name().startsWith("VERACACHE") && strategy != Strategy.CDC_NO_LOSS_CHECK
        || throughKafka)) {
      throw new IllegalArgumentException("a run on the Redis Cluster takes a Veracache strategy (or CDC_NO_LOSS_CHECK) "
          + "with its listener reading the binlog, not " + strategy + (throughKafka ? " through Kafka" : ""));
    }
    this.stack = stack;
    this.scenario = scenario;
    this.strategy = strategy;
    this.workload = workload;
    this.namespace = namespace;
    this.serverId = serverId;
    this.label = label;
    this.seed = seed;
    this.factory = factory;
    this.fault = FaultRegistry.create(scenario.fault().kind());
    this.context = new RunContext(scenario, strategy, workload, history, signals, namespace, fault.raceInjection());
    fault.provingMeasures(strategy).forEach(context.measures::requirePositive);
    this.threads = new WorkloadThreads(context);
  }

  /** Every phase in turn; the report of the run. */
  Report run() throws Exception {
    try {
      prepare();
      startWorkload();
      runFault();
      stopWorkload();
      heal();
      quiesce();
      int staleKeys = compare();
      return check(staleKeys);
    } finally {
      cleanUp();
    }
  }

  /** The CDC listener (live), each instance (through its proxy when the fault needs one), the fault's preparation. */
  private void prepare() {
    if (strategy.usesCdc) {
      listener = new CdcInvalidatorControl(stack, workload.table, namespace, scenario.workload().alternateKeys(),
          serverId, fault.listenerInOwnJvm(), strategy == Strategy.FORGETFUL_CDC,
          scenario.listenerProgressInterval(strategy), strategy == Strategy.CDC_NO_LOSS_CHECK, context.cdcHooks,
          throughKafka);
      resources.add(listener);
      if (onCluster) {
        // Where a failover loses writes, the listener waits for each master's replica; the baseline does not.
        listener.onCluster(scenario.invalidationsAwaitAReplica(strategy));
      }
      listener.start();
    }
    List<InstanceNetwork> proxies = new ArrayList<>();
    for (int i = 0; i < scenario.workload().instances(); i++) {
      String uri = redisAddress();
      if (fault.needsProxies()) {
        InstanceNetwork network = onCluster ? InstanceNetwork.toCluster("chaos-" + i, stack.redisCluster())
            : InstanceNetwork.toRedis("chaos-" + i, stack.redis().host(), stack.redis().port(), uri);
        resources.add(network);
        proxies.add(network);
        uri = network.redisAddress();
      }
      CacheUnderTest instance = factory.create(context, i, uri);
      resources.add(instance);
      instances.add(instance);
    }
    target = new FaultTarget(stack, context, proxies, listener, onCluster);
    fault.prepare(target);
  }

  /** Readers and writers start; the part of the run before a timed fault is the caches' warm-up. */
  private void startWorkload() {
    threads.start(stack.database(), instances, seed);
  }

  /**
   * The scenario's duration. A timed fault is injected for {@code faultFraction} of it, centred (recorded in the
   * history as the fault window); a race injection acts through the run's holds for all of it (no fault window: the
   * checker judges the whole run).
   */
  private void runFault() throws Exception {
    long total = scenario.seconds() * 1000L;
    if (!scenario.fault().kind().timed) {
      Thread.sleep(total);
      return;
    }
    long active = scenario.faultMillis();
    long before = (total - active) / 2;
    Thread.sleep(before);
    log.info("fault {} on", scenario.fault().kind());
    history.faultStarted();
    long started = System.nanoTime();
    fault.inject(target);
    long left = active - (System.nanoTime() - started) / 1_000_000;
    if (left > 0) {
      Thread.sleep(left);
    }
    fault.end(target);
    history.faultEnded();
    log.info("fault {} healed", scenario.fault().kind());
    Thread.sleep(total - before - active);
  }

  /** The workload stops: every race injection's hold ends, the threads are joined, the instances' counts taken. */
  private void stopWorkload() throws InterruptedException {
    threads.stop();
    releaseHolds();
    threads.join();
    if (threads.writeFailures() > 0) {
      log.warn("{}: {} writes failed: a database error (not recorded) or a post-write step that threw after the "
          + "commit (recorded, never settled); each is logged at DEBUG", label, threads.writeFailures());
    }
    for (CacheUnderTest instance : instances) {
      instance.addMeasures(context.measures);
    }
  }

  private void releaseHolds() {
    signals.release();
    fault.releaseHolds();
  }

  /** Undoes the fault, then every fault there is; returns once the CDC listener, if any, is live. */
  private void heal() {
    fault.heal(target);
    target.healServers();
  }

  /**
   * Quiescence after healing: with a CDC listener, first until it has applied everything up to the binlog head (at
   * most {@link ListenerCatchUp#TIMEOUT}; a listener that cannot get there fails the run), then W, the caches' own
   * catch-up (tracking pushes to L1). Without a listener, W.
   */
  private void quiesce() throws SQLException, InterruptedException {
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
  private int compare() {
    return QuiescenceComparison.staleKeys(redisAddress(), workload, instances, namespace).size();
  }

  /** The run's Redis, as the instances and the checks take it: the single Redis's URI, or the cluster's seeds. */
  private String redisAddress() {
    return onCluster ? RedisReader.clusterAddress(stack.redisCluster().seedUris()) : stack.redis().uri();
  }

  /** Lost writes, then the history judged by the {@link Checker}; the fault's measures join the report. */
  private Report check(int staleKeys) throws SQLException {
    int lostWrites = LostWrites.find(history, workload, label).size();
    Duration window = Duration.ofMillis(scenario.windowMillis());
    Report report = Checker.check(label, history, window, staleKeys, lostWrites,
        !scenario.fault().kind().loadsFromReplica())
        .withFaultMeasures(context.measures.result());
    if (!strategy.baseline && report.staleReads() > 0) {
      log.warn("{}: stale reads (first per key, with the key's writes around them):\n  {}", label,
          String.join("\n  ", Checker.describeStaleReads(history, window, 10,
              !scenario.fault().kind().loadsFromReplica())));
    }
    return report;
  }

  /** Whatever happened: holds released, the fault and the servers healed, resources closed newest first. */
  private void cleanUp() {
    threads.stop();
    signals.release();
    try {
      if (target != null) {
        fault.releaseHolds();
        heal();
      } else {
        FaultTarget.healAfterFailure(stack);
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
