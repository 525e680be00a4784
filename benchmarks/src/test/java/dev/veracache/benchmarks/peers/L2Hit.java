package dev.veracache.benchmarks.peers;

import dev.veracache.benchmarks.peers.Workload.Cursor;
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
 * A read served by Redis because the local cache is off or misses, one thread, us/op (lower is better): one round
 * trip to the embedded Redis for each peer, plus what each does around it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class L2Hit {

  /** The raw limit: a Lettuce sync GET (RESP3). */
  @Benchmark
  public byte[] lettuceGet(LettuceState lettuce, Cursor cursor) {
    return lettuce.redis.get(lettuce.keys[cursor.advance()]);
  }

  /** Veracache with L1 disabled: a GET of the record, decoded. */
  @Benchmark
  public byte[] veracacheL1Off(VeracacheState veracache, Cursor cursor) {
    return veracache.l1Off.get(veracache.keys[cursor.advance()], VeracacheState.NEVER);
  }

  /** Veracache with L1 on but missing (bounded to one entry): L1 lookup, GET, L1 fill. */
  @Benchmark
  public byte[] veracacheL1Miss(VeracacheState veracache, Cursor cursor) {
    return veracache.l1Miss.get(veracache.keys[cursor.advance()], VeracacheState.NEVER);
  }

  /** JetCache {@code CacheType.REMOTE}: a Jedis GET from the pool, Java deserialization of the value holder. */
  @Benchmark
  public byte[] jetcacheRemote(JetCacheState jetcache, Cursor cursor) {
    return jetcache.remote.get(jetcache.keys[cursor.advance()]);
  }

  /** Redisson {@code RLocalCachedMap} with {@code cacheSize(-1)}: local lookup (always empty), HGET. */
  @Benchmark
  public byte[] redissonLocalMiss(RedissonState redisson, Cursor cursor) {
    return redisson.localAlwaysMisses.get(redisson.keys[cursor.advance()]);
  }
}
