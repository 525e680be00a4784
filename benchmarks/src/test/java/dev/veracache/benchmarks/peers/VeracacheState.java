package dev.veracache.benchmarks.peers;

import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.TieredCache;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.testing.L1Peek;
import java.util.concurrent.ForkJoinPool;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Veracache on its own embedded stack, with the project's defaults except the {@link Workload}'s bounds and the
 * raw-bytes codec (so a value costs what it costs the raw clients: no encoding). Four caches, four Redis namespaces:
 * <ul>
 *   <li>{@link #l1}: every key in L1 (checked with {@link L1Peek}); the L1 hit path;</li>
 *   <li>{@link #l1Off}: L1 disabled; every read is a Redis GET of the record (the L2 hit path);</li>
 *   <li>{@link #l1Miss}: L1 on but bounded to one entry, so the cycle over 1,024 keys misses it and reads Redis (the
 *       L2 hit path with the L1 lookup, the L1 fill and the read ticket it costs);</li>
 *   <li>{@link #fills}: L1 on; the miss benchmark reads fresh keys (GET, lease, loader, fenced fill).</li>
 * </ul>
 */
@State(Scope.Benchmark)
public class VeracacheState extends PeerState {

  /** The loader of the hit paths: a hit that reaches it was not a hit. */
  static final CacheLoader<String, byte[]> NEVER = key -> {
    throw new IllegalStateException("benchmark key " + key + " was expected cached but reached the loader");
  };
  /** The "database" of the miss path: in memory, so the benchmark measures the cache. */
  static final CacheLoader<String, byte[]> DATABASE = key -> Workload.value();

  Veracache veracache;
  TieredCache<String, byte[]> l1;
  TieredCache<String, byte[]> l1Off;
  TieredCache<String, byte[]> l1Miss;
  TieredCache<String, byte[]> fills;
  String[] keys;

  @Override
  void start() throws InterruptedException {
    veracache = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).clientName("bench-veracache").build());
    l1 = veracache.cache(options("peers-l1").build());
    l1Off = veracache.cache(options("peers-l1-off").l1Enabled(false).build());
    l1Miss = veracache.cache(options("peers-l1-miss").l1MaximumSize(1).build());
    fills = veracache.cache(options("peers-fill").ttl(Workload.FILL_TTL).build());
    keys = Workload.keys();
    for (String key : keys) {
      l1.get(key, DATABASE);
      l1Off.get(key, DATABASE);
      l1Miss.get(key, DATABASE);
    }
    putAllInL1();
    for (String key : keys) {
      if (l1Off.get(key, NEVER) == null || L1Peek.peek(l1Off, key).present()) {
        throw new IllegalStateException("Veracache L1-off cache: key " + key + " not in Redis, or in an L1");
      }
    }
    for (String key : keys) {
      l1Miss.get(key, NEVER);
    }
    Thread.sleep(200); // Caffeine evicts past its bound in its maintenance, just after the writes
    int inL1 = 0;
    for (String key : keys) {
      inL1 += L1Peek.peek(l1Miss, key).present() ? 1 : 0;
    }
    if (inL1 > Workload.KEYS / 2) {
      throw new IllegalStateException("Veracache L1-miss cache: " + inL1 + " of " + Workload.KEYS
          + " keys in an L1 bounded to one entry; the L2 path would be measured on L1 hits (common pool, which "
          + "runs Caffeine's evictions: " + ForkJoinPool.commonPool() + ")");
    }
  }

  /**
   * Reads every key until L1 holds it. A fill's own tracking push may evict the entry it made (Redis pushes a
   * client's own script writes back to it, redis/redis#11052), so the first read after the fill may be an L2 hit that puts the
   * value in L1; passes repeat until every key is there (at most 50 passes, then the setup fails naming how many are
   * missing).
   */
  private void putAllInL1() throws InterruptedException {
    for (int pass = 0; pass < 50; pass++) {
      int missing = 0;
      for (String key : keys) {
        if (!L1Peek.peek(l1, key).present()) {
          missing++;
          l1.get(key, NEVER);
        }
      }
      if (missing == 0) {
        return;
      }
      Thread.sleep(20); // let the tracking pushes of this pass arrive before checking again
    }
    int missing = 0;
    for (String key : keys) {
      missing += L1Peek.peek(l1, key).present() ? 0 : 1;
    }
    if (missing > 0) {
      throw new IllegalStateException("Veracache L1 cache: " + missing + " of " + Workload.KEYS
          + " keys still not in L1 after 50 read passes");
    }
  }

  private static CacheOptions.Builder<String, byte[]> options(String namespace) {
    return CacheOptions.<String, byte[]>builder(namespace, ValueCodec.bytes())
        .ttl(Workload.REMOTE_TTL)
        .l1MaximumSize(Workload.LOCAL_MAXIMUM_SIZE)
        .l1Ttl(Workload.LOCAL_TTL);
  }

  @Override
  void closeClients() {
    if (veracache != null) {
      veracache.close();
    }
  }
}
