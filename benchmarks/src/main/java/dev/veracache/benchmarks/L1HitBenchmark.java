package dev.veracache.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
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
 * expire-after-write). Target: Veracache at least 0.9x raw throughput.
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
  private Cache<String, String> rawCaffeine;
  private String[] keys;

  @Setup(Level.Trial)
  public void setUp() {
    stack = EmbeddedStack.start();
    veracache = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).build());
    cache = veracache.cacheAside(CacheOptions.<String, String>builder("bench-l1", ValueCodec.utf8())
        .l1MaximumSize(10_000).l1Ttl(Duration.ofMinutes(5)).build());
    rawCaffeine = Caffeine.newBuilder().maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)).build();
    keys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = "k" + i;
      String value = "value-" + i;
      cache.get(keys[i], k -> value);
      cache.get(keys[i], NEVER); // proves it is in L1
      rawCaffeine.put(keys[i], value);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
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
}
