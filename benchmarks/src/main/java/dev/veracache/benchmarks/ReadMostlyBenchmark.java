package dev.veracache.benchmarks;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.stack.EmbeddedStack;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A read-mostly load on one client, for the L1 hit ratio after warm-up: 2 threads read 4,096 keys at random, and one
 * operation in {@value #WRITE_EVERY} first invalidates its key (as a write does after its commit), so the read that
 * follows misses and fills. Redis pushes a client's own fills back to it, which drops the L1 entry the fill made; the
 * client re-reads such a key into L1 after that push. Each measurement iteration prints which level answered its reads
 * ({@code veracache.gets}) and how many own writes were re-read into L1 ({@code veracache.l1.readmissions}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 2)
@Fork(1)
@Threads(2)
@State(Scope.Benchmark)
public class ReadMostlyBenchmark {

  private static final int KEYS = 4096;
  private static final int WRITE_EVERY = 100;

  private EmbeddedStack stack;
  private MeterRegistry registry;
  private Veracache veracache;
  private CacheAside<String, String> cache;
  private final CacheLoader<String, String> database = key -> "value-" + key; // in memory: the cache is measured
  private String[] keys;
  private double[] atIterationStart;

  @Setup(Level.Trial)
  public void setUp() {
    stack = EmbeddedStack.start();
    registry = new SimpleMeterRegistry();
    veracache = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).meterRegistry(registry).build());
    cache = veracache.cacheAside(CacheOptions.<String, String>builder("bench-read-mostly", ValueCodec.utf8())
        .l1MaximumSize(10_000).l1Ttl(Duration.ofMinutes(5)).build());
    keys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = "k" + i;
      cache.get(keys[i], database);
    }
  }

  @Setup(Level.Iteration)
  public void startIteration() {
    atIterationStart = counts();
  }

  @TearDown(Level.Iteration)
  public void reportIteration() {
    double[] now = counts();
    double l1 = now[0] - atIterationStart[0];
    double l2 = now[1] - atIterationStart[1];
    double missed = now[2] - atIterationStart[2];
    double reads = l1 + l2 + missed;
    System.out.printf("%nreads %.0f: L1 %.2f%%, L2 %.2f%%, misses %.2f%%; own writes re-read into L1 %.0f%n", reads,
        100 * l1 / reads, 100 * l2 / reads, 100 * missed / reads, now[3] - atIterationStart[3]);
  }

  /** L1 hits, L2 hits, L2 misses, readmissions stored. */
  private double[] counts() {
    return new double[] {functionCount("veracache.gets", "level", "l1", "result", "hit"),
        count("veracache.gets", "level", "l2", "result", "hit"), count("veracache.gets", "level", "l2", "result", "miss"),
        count("veracache.l1.readmissions", "result", "stored")};
  }

  private double functionCount(String name, String... tags) {
    FunctionCounter counter = registry.find(name).tags(tags).functionCounter();
    return counter == null ? 0 : counter.count();
  }

  private double count(String name, String... tags) {
    var counter = registry.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    veracache.close();
    stack.close();
  }

  @State(Scope.Thread)
  public static class Workload {
    final SplittableRandom random = new SplittableRandom();
    int operations;
  }

  @Benchmark
  public String readMostly(Workload workload) {
    String key = keys[workload.random.nextInt(KEYS)];
    if (++workload.operations % WRITE_EVERY == 0) {
      cache.invalidate(key);
    }
    return cache.get(key, database);
  }
}
