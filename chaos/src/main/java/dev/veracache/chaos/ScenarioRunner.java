package dev.veracache.chaos;

import dev.veracache.CacheHooks;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.commons.math3.distribution.ZipfDistribution;
import org.apache.commons.math3.random.Well19937c;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one {@link Scenario} on the embedded stack: readers on every instance and one writer, for the scenario's
 * duration, with its fault; then heals the fault, lets W and the listener's catch-up pass (quiescence), compares every
 * instance's cache with the database key by key, and hands the history to the {@link Checker}.
 */
public final class ScenarioRunner {

  private static final Logger log = LoggerFactory.getLogger(ScenarioRunner.class);
  private static final AtomicInteger RUNS = new AtomicInteger();
  private static final double ZIPF_EXPONENT = 1.1;
  private static final Duration CATCH_UP = Duration.ofSeconds(2);

  private ScenarioRunner() {}

  public static Report run(EmbeddedStack stack, Scenario scenario) throws Exception {
    int run = RUNS.incrementAndGet();
    String id = ProcessHandle.current().pid() + "_" + run;
    ChaosTable table = new ChaosTable(stack.database(), "chaos_" + id, scenario.keys());
    String namespace = "chaos" + id;
    CdcInvalidator cdc = scenario.strategy() == Scenario.Strategy.VERACACHE_CDC
        ? startListener(stack, table, namespace, 7100 + run) : null;
    CacheHooks hooks = scenario.fault() == Scenario.Fault.SLOW_FILL ? slowFill(scenario.slowFillMillis())
        : CacheHooks.NONE;
    List<CacheUnderTest> instances = new ArrayList<>();
    for (int i = 0; i < scenario.instances(); i++) {
      instances.add(Strategies.create(scenario, i, stack.redis().uri(), namespace, table, hooks));
    }
    History history = new History();
    AtomicBoolean running = new AtomicBoolean(true);
    List<Thread> threads = new ArrayList<>();
    try {
      for (int i = 0; i < instances.size(); i++) {
        for (int r = 0; r < scenario.readersPerInstance(); r++) {
          int instance = i;
          long seed = scenario.seed() * 31 + i * 7L + r;
          threads.add(start("chaos-reader-" + i + "-" + r, () ->
              readLoop(instances.get(instance), instance, keys(scenario, seed), history, running)));
        }
      }
      threads.add(start("chaos-writer", () ->
          writeLoop(stack.database(), table, instances, keys(scenario, scenario.seed()), scenario, history, running)));
      injectFault(stack, scenario);
      running.set(false);
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(30));
      }
      heal(stack);
      // Quiescence: writes stopped, faults healed; give the cache W plus the listener's catch-up.
      Thread.sleep(scenario.window().plus(CATCH_UP).toMillis());
      int staleKeys = staleKeysAfterQuiescence(scenario, table, instances);
      return Checker.check(scenario.name(), history, scenario.window(), staleKeys, 0);
    } finally {
      running.set(false);
      heal(stack);
      instances.forEach(CacheUnderTest::close);
      if (cdc != null) {
        cdc.close();
      }
    }
  }

  private static Thread start(String name, Runnable work) {
    Thread thread = new Thread(work, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  private static KeyChooser keys(Scenario scenario, long seed) {
    return new KeyChooser(new ZipfDistribution(new Well19937c(seed), scenario.keys(), ZIPF_EXPONENT));
  }

  /** One thread's key chooser: ZipfDistribution is not thread-safe, so each thread has its own. */
  private record KeyChooser(ZipfDistribution zipf) {
    String next() {
      return "k" + (zipf.sample() - 1);
    }
  }

  private static void readLoop(CacheUnderTest cache, int instance, KeyChooser keys, History history,
      AtomicBoolean running) {
    while (running.get()) {
      String key = keys.next();
      long start = System.nanoTime();
      try {
        long version = cache.read(key);
        history.read(key, version, start, System.nanoTime(), instance, History.Level.CACHE);
      } catch (Exception e) {
        history.read(key, -1, start, System.nanoTime(), instance, History.Level.FAILED);
      }
    }
  }

  private static void writeLoop(DatabaseServer db, ChaosTable table, List<CacheUnderTest> instances, KeyChooser keys,
      Scenario scenario, History history, AtomicBoolean running) {
    long interval = TimeUnit.SECONDS.toNanos(1) / Math.max(1, scenario.writesPerSecond());
    long next = System.nanoTime();
    int n = 0;
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      while (running.get()) {
        String key = keys.next();
        long version = table.bump(c, key);
        history.write(key, version, System.nanoTime());
        try {
          instances.get(n++ % instances.size()).afterWrite(key, version);
        } catch (Exception e) {
          log.debug("post-write step failed for {}: {}", key, e.toString());
        }
        next += interval;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    } catch (Exception e) {
      log.error("writer stopped: {}", e.toString());
    }
  }

  /** Runs the fault for the scenario's duration; returns when the workload should stop. */
  private static void injectFault(EmbeddedStack stack, Scenario scenario) throws InterruptedException {
    long third = scenario.duration().toMillis() / 3;
    switch (scenario.fault()) {
      case REDIS_PAUSE -> {
        Thread.sleep(third);
        stack.redis().pause();
        Thread.sleep(third);
        stack.redis().resume();
        Thread.sleep(scenario.duration().toMillis() - 2 * third);
      }
      case REDIS_READONLY -> {
        Thread.sleep(third);
        redisCommand(stack, c -> c.replicaof("127.0.0.1", 1)); // nothing listens there: read-only, data kept
        Thread.sleep(third);
        redisCommand(stack, c -> c.replicaofNoOne());
        Thread.sleep(scenario.duration().toMillis() - 2 * third);
      }
      default -> Thread.sleep(scenario.duration().toMillis());
    }
  }

  private static void heal(EmbeddedStack stack) {
    if (stack.redis().controllable() && stack.redis().isPaused()) {
      stack.redis().resume();
    }
    redisCommand(stack, c -> c.replicaofNoOne());
  }

  private static void redisCommand(EmbeddedStack stack,
      java.util.function.Consumer<io.lettuce.core.api.sync.RedisCommands<String, String>> command) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(stack.redis().uri());
    try (var connection = client.connect()) {
      command.accept(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }

  private static CacheHooks slowFill(int millis) {
    return new CacheHooks() {
      @Override
      public void afterLoad(String redisKey) {
        try {
          Thread.sleep(millis); // the injected delay between a load and its fill
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
  }

  private static int staleKeysAfterQuiescence(Scenario scenario, ChaosTable table, List<CacheUnderTest> instances)
      throws Exception {
    int stale = 0;
    for (int k = 0; k < scenario.keys(); k++) {
      String key = "k" + k;
      long db = table.version(key);
      for (CacheUnderTest instance : instances) {
        Long cached = instance.cachedVersion(key);
        if (cached != null && cached != db) {
          stale++;
          break;
        }
      }
    }
    return stale;
  }

  private static CdcInvalidator startListener(EmbeddedStack stack, ChaosTable table, String namespace, long serverId)
      throws Exception {
    DatabaseServer db = stack.database();
    CdcInvalidator cdc = CdcInvalidator.start(CdcOptions.builder()
        .database(db.host(), db.port(), db.user(), db.password())
        .serverId(serverId).name("chaos-" + serverId)
        .redis(VeracacheOptions.builder(stack.redis().uri()).commandTimeout(Duration.ofMillis(300)).build())
        .mappings(InvalidationMappings.builder().table(db.databaseName() + "." + table.name).namespace(namespace)
            .key("{k}").version("version").add().build())
        .stateDirectory(Files.createTempDirectory("chaos-cdc"))
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .meterRegistry(new SimpleMeterRegistry())
        .build());
    if (!cdc.awaitLive(Duration.ofSeconds(60))) {
      cdc.close();
      throw new IllegalStateException("CDC listener did not become live");
    }
    return cdc;
  }
}
