package dev.veracache.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.InspectorOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.stack.EmbeddedStack;
import java.time.Duration;
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
 * An L1 hit through Veracache against a raw Caffeine {@code getIfPresent} on a cache with the same bounds (size and
 * expire-after-write). Target: Veracache at least 0.9x raw throughput. {@code veracacheL1HitInspected} is the same hit
 * on a second client whose consistency inspector samples 1% of hits ({@code InspectorOptions}, default window and
 * in-flight bound); its re-reads call an in-memory loader on the inspector's own thread, which shares the 2 cores.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(2)
@State(Scope.Benchmark)
public class L1HitBenchmark {

  private static final int KEYS = 1024;
  private static final CacheLoader<String, String> NEVER = key -> {
    throw new IllegalStateException("benchmark key " + key + " missed L1");
  };

  private EmbeddedStack stack;
  private Veracache veracache;
  private CacheAside<String, String> cache;
  private Veracache inspectedClient;
  private CacheAside<String, String> inspected;
  private CacheLoader<String, String> database;
  private Cache<String, String> rawCaffeine;
  private String[] keys;

  @Setup(Level.Trial)
  public void setUp() {
    stack = EmbeddedStack.start();
    veracache = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).build());
    cache = veracache.cacheAside(CacheOptions.<String, String>builder("bench-l1", ValueCodec.utf8())
        .l1MaximumSize(10_000).l1Ttl(Duration.ofMinutes(5)).build());
    rawCaffeine = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)).build();
    inspectedClient = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).clientName("inspected")
        .inspector(InspectorOptions.builder().sampleRate(0.01).build()).build());
    inspected = inspectedClient.cacheAside(CacheOptions.<String, String>builder("bench-l1-inspected",
        ValueCodec.utf8()).l1MaximumSize(10_000).l1Ttl(Duration.ofMinutes(5)).build());
    database = key -> "value-" + key.substring(1); // what the inspector re-reads: an in-memory "database"
    keys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = "k" + i;
      String value = "value-" + i;
      cache.get(keys[i], k -> value);
      cache.get(keys[i], NEVER); // proves it is in L1
      rawCaffeine.put(keys[i], value);
      inspected.get(keys[i], database);
    }
    // The second read of a key (an L2 hit, once the push of its fill came back) puts it in L1; a third pass is spare.
    for (int pass = 0; pass < 2; pass++) {
      for (String key : keys) {
        inspected.get(key, database);
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    System.out.printf("%ninspector at 1%%: sampled %d, dropped %d, mismatched %d, stale %d, errors %d%n",
        inspectedClient.inspector().sampled(), inspectedClient.inspector().dropped(),
        inspectedClient.inspector().mismatched(), inspectedClient.inspector().stale(),
        inspectedClient.inspector().errors());
    inspectedClient.close();
    veracache.close();
    stack.close();
  }

  @State(Scope.Thread)
  public static class Cursor {
    int next;

    int advance() {
      next = (next + 1) & (KEYS - 1);
      return next;
    }
  }

  @Benchmark
  public String rawCaffeineGetIfPresent(Cursor cursor) {
    return rawCaffeine.getIfPresent(keys[cursor.advance()]);
  }

  @Benchmark
  public String veracacheL1Hit(Cursor cursor) {
    return cache.get(keys[cursor.advance()], NEVER);
  }

  @Benchmark
  public String veracacheL1HitInspected(Cursor cursor) {
    return inspected.get(keys[cursor.advance()], database);
  }
}
