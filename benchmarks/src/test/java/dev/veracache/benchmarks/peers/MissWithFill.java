package dev.veracache.benchmarks.peers;

import dev.veracache.benchmarks.peers.Workload.FreshKeys;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A read of a key no one has read before, one thread, us/op: each peer looks it up, calls an in-memory loader (the
 * "database", free) and stores the value, local cache on where the peer has one. What each sends to Redis is in the
 * README's table of commands per miss.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class MissWithFill {

  /** The raw limit: Lettuce GET, then SET PX (the naive, unfenced cache-aside miss). */
  @Benchmark
  public byte[] naiveGetPsetex(LettuceState lettuce, FreshKeys fresh) {
    return lettuce.naiveMiss(fresh.next());
  }

  /** Veracache {@code get}: GET, lease, loader, fenced fill (L1 on). */
  @Benchmark
  public byte[] veracache(VeracacheState veracache, FreshKeys fresh) {
    return veracache.fills.get(fresh.next(), VeracacheState.DATABASE);
  }

  /** JetCache {@code computeIfAbsent} on the two-level cache (local GET, GET, loader, local PUT, PSETEX, PUBLISH). */
  @Benchmark
  public byte[] jetcache(JetCacheState jetcache, FreshKeys fresh) {
    return jetcache.fills.computeIfAbsent(fresh.next(), JetCacheState.DATABASE);
  }

  /** Redisson read-through ({@code MapLoader}): HGET, lock, HGET, loader, put script, unlock. */
  @Benchmark
  public byte[] redissonReadThrough(RedissonState redisson, FreshKeys fresh) {
    return redisson.readThrough.get(fresh.next());
  }

  /** Redisson by hand: {@code get} (HGET), then {@code fastPut} (the put script). */
  @Benchmark
  public byte[] redissonCacheAside(RedissonState redisson, FreshKeys fresh) {
    return redisson.cacheAsideMiss(fresh.next());
  }
}
