package dev.veracache.benchmarks.peers;

import dev.veracache.benchmarks.peers.Workload.Cursor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * An L1 (local cache) hit of each peer, throughput in ops/us: a key from the cycle of 1,024 that every peer holds
 * locally. The thread count is the subclass's ({@link L1HitOneThread}, {@link L1HitTwoThreads}): JMH takes one thread
 * count per benchmark, and these two classes let one run measure both.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public abstract class L1Hit {

  /** The raw limit: Caffeine {@code getIfPresent}. */
  @Benchmark
  public byte[] caffeine(CaffeineState caffeine, Cursor cursor) {
    return caffeine.cache.getIfPresent(caffeine.keys[cursor.advance()]);
  }

  /** Veracache {@code get} served from L1 (the loader, which throws, is never called). */
  @Benchmark
  public byte[] veracache(VeracacheState veracache, Cursor cursor) {
    return veracache.l1.get(veracache.keys[cursor.advance()], VeracacheState.NEVER);
  }

  /** JetCache {@code get} on its two-level cache, served by the local Caffeine. */
  @Benchmark
  public byte[] jetcache(JetCacheState jetcache, Cursor cursor) {
    return jetcache.both.get(jetcache.keys[cursor.advance()]);
  }

  /** Redisson {@code RLocalCachedMap.get}, served by its local cache. */
  @Benchmark
  public byte[] redisson(RedissonState redisson, Cursor cursor) {
    return redisson.local.get(redisson.keys[cursor.advance()]);
  }
}
