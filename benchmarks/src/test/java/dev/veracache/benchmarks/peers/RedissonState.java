package dev.veracache.benchmarks.peers;

import java.util.List;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.redisson.Redisson;
import org.redisson.api.RLocalCachedMap;
import org.redisson.api.RedissonClient;
import org.redisson.api.map.MapLoader;
import org.redisson.api.options.LocalCachedMapOptions;
import org.redisson.api.options.LocalCachedMapOptions.EvictionPolicy;
import org.redisson.api.options.LocalCachedMapOptions.ReconnectionStrategy;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.codec.StringCodec;
import org.redisson.codec.CompositeCodec;
import org.redisson.config.Config;

/**
 * Redisson 4.7.0's {@code RLocalCachedMap} (a Redis hash plus a local cache per JVM, kept in step by pub/sub
 * invalidation messages), one {@link RedissonClient} with its default single-server settings (Netty, a connection
 * pool, a separate pub/sub connection). Every map uses string keys and raw byte values (a {@link CompositeCodec} of
 * {@link StringCodec} and {@link ByteArrayCodec}, so no serializer runs; Redisson's default is Kryo 5), the
 * {@link Workload}'s local bound as LRU with the same time-to-live, {@code SyncStrategy.INVALIDATE} (the default) and
 * {@code ReconnectionStrategy.CLEAR} (the default is NONE, which keeps a local cache that missed invalidations while
 * disconnected; CLEAR costs nothing until a reconnect):
 * <ul>
 *   <li>{@link #local}: every key in the local cache (checked); the L1 hit path;</li>
 *   <li>{@link #localAlwaysMisses}: {@code cacheSize(-1)}, Redisson's "local cache always empty": every read is an
 *       HGET (the L2 hit path through the local-cached map);</li>
 *   <li>{@link #readThrough}: a {@link MapLoader} (Redisson's read-through): a miss is HGET, a per-key {@code RLock}
 *       (lock script, and pub/sub while it waits), HGET again, the loader on Redisson's executor, the put script
 *       (HSET and PUBLISH of the invalidation), the unlock script;</li>
 *   <li>{@link #cacheAside}: no loader; the miss is done by hand as its documentation's cache-aside: {@code get}
 *       (HGET), then {@code fastPut} (the put script).</li>
 * </ul>
 * A Redis hash has no per-entry expiry (Redis 6.2): Redisson's maps set no TTL in Redis ({@code RLocalCachedMapCache},
 * which has one, is Redisson PRO only), so its fills send less than the others'.
 */
@State(Scope.Benchmark)
public class RedissonState extends PeerState {

  private static final CompositeCodec CODEC = new CompositeCodec(StringCodec.INSTANCE, ByteArrayCodec.INSTANCE);

  RedissonClient client;
  RLocalCachedMap<String, byte[]> local;
  RLocalCachedMap<String, byte[]> localAlwaysMisses;
  RLocalCachedMap<String, byte[]> readThrough;
  RLocalCachedMap<String, byte[]> cacheAside;
  String[] keys;

  @Override
  void start() {
    Config config = new Config();
    config.useSingleServer().setAddress("redis://" + stack.redis().host() + ":" + stack.redis().port());
    client = Redisson.create(config);
    local = client.getLocalCachedMap(options("peers-local"));
    localAlwaysMisses = client.getLocalCachedMap(options("peers-local-off").cacheSize(-1));
    readThrough = client.getLocalCachedMap(options("peers-read-through").loader(new MapLoader<String, byte[]>() {
      @Override
      public byte[] load(String key) {
        return Workload.value();
      }

      @Override
      public Iterable<String> loadAllKeys() {
        return List.of();
      }
    }));
    cacheAside = client.getLocalCachedMap(options("peers-cache-aside"));
    keys = Workload.keys();
    for (String key : keys) {
      local.fastPut(key, Workload.value());
      localAlwaysMisses.fastPut(key, Workload.value());
    }
    for (String key : keys) {
      local.get(key);
    }
    if (local.getCachedMap().size() != Workload.KEYS) {
      throw new IllegalStateException("Redisson local cached map holds " + local.getCachedMap().size() + " of "
          + Workload.KEYS + " keys locally after a read of each");
    }
    for (String key : keys) {
      if (localAlwaysMisses.get(key) == null) {
        throw new IllegalStateException("Redisson map with the local cache off: key " + key + " not in Redis");
      }
    }
    if (!localAlwaysMisses.getCachedMap().isEmpty()) {
      throw new IllegalStateException("Redisson cacheSize(-1) map holds " + localAlwaysMisses.getCachedMap().size()
          + " keys locally; the L2 path would be measured on local hits");
    }
  }

  private static LocalCachedMapOptions<String, byte[]> options(String name) {
    return LocalCachedMapOptions.<String, byte[]>name(name)
        .codec(CODEC)
        .cacheSize(Workload.LOCAL_MAXIMUM_SIZE)
        .evictionPolicy(EvictionPolicy.LRU)
        .timeToLive(Workload.LOCAL_TTL)
        .reconnectionStrategy(ReconnectionStrategy.CLEAR);
  }

  /** A miss done by hand: read through the local cache and Redis, then store what was loaded. */
  byte[] cacheAsideMiss(String key) {
    byte[] cached = cacheAside.get(key);
    if (cached != null) {
      return cached;
    }
    byte[] loaded = Workload.value();
    cacheAside.fastPut(key, loaded);
    return loaded;
  }

  @Override
  void closeClients() {
    if (client != null) {
      client.shutdown();
    }
  }
}
