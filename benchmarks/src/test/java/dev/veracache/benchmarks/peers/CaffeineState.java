package dev.veracache.benchmarks.peers;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The raw limit of an L1 hit: a Caffeine cache with the bounds every peer's local cache gets (size and
 * expire-after-write), holding every key. No Redis.
 */
@State(Scope.Benchmark)
public class CaffeineState {

  Cache<String, byte[]> cache;
  String[] keys;

  @Setup(Level.Trial)
  public void setUp() {
    cache = Caffeine.newBuilder().maximumSize(Workload.LOCAL_MAXIMUM_SIZE).expireAfterWrite(Workload.LOCAL_TTL).build();
    keys = Workload.keys();
    for (String key : keys) {
      cache.put(key, Workload.value());
    }
  }
}
