package dev.veracache.benchmarks.peers;

import com.alicp.jetcache.Cache;
import com.alicp.jetcache.CacheBuilder;
import com.alicp.jetcache.CacheUtil;
import com.alicp.jetcache.MultiLevelCache;
import com.alicp.jetcache.SimpleCacheManager;
import com.alicp.jetcache.anno.CacheConsts;
import com.alicp.jetcache.anno.CacheType;
import com.alicp.jetcache.embedded.CaffeineCacheBuilder;
import com.alicp.jetcache.redis.RedisCacheBuilder;
import com.alicp.jetcache.template.CacheBuilderTemplate;
import com.alicp.jetcache.template.NotifyMonitorInstaller;
import com.alicp.jetcache.template.QuickConfig;
import java.util.Map;
import java.util.function.Function;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/**
 * JetCache 2.7.8 the way its documentation sets up a two-level cache without Spring: a {@link SimpleCacheManager}
 * whose template has a Caffeine local builder and a Jedis Redis remote builder (a {@link JedisPool} with Jedis's
 * default pool settings, JetCache's default Java serialization of its value holder), caches made with
 * {@link QuickConfig}:
 * <ul>
 *   <li>{@link #both}: {@code CacheType.BOTH} (local Caffeine + remote Redis), {@code syncLocal(true)} with a
 *       broadcast channel, so that a put or remove in one JVM evicts the key from the other JVMs' local caches (Redis
 *       pub/sub; without it JetCache never invalidates a local cache across JVMs); every key in the local cache
 *       (checked); the L1 hit path;</li>
 *   <li>{@link #remote}: {@code CacheType.REMOTE}, the local cache off; the L2 hit path (a Jedis GET and a Java
 *       deserialization);</li>
 *   <li>{@link #fills}: like {@link #both}; the miss path through {@code computeIfAbsent} (local GET, Redis GET,
 *       loader, local PUT, Redis PSETEX, PUBLISH of the put for the other JVMs).</li>
 * </ul>
 * Left at JetCache's defaults: {@code penetrationProtect} off (its stampede lock is one JVM's only, and on a miss it
 * reads the cache a second time), {@code cacheNullValue} off, the Java value encoder.
 */
@State(Scope.Benchmark)
public class JetCacheState extends PeerState {

  /** JetCache's loader of the miss path: the in-memory "database". */
  static final Function<String, byte[]> DATABASE = key -> Workload.value();

  JedisPool pool;
  SimpleCacheManager manager;
  Cache<String, byte[]> both;
  Cache<String, byte[]> remote;
  Cache<String, byte[]> fills;
  String[] keys;

  @Override
  void start() {
    pool = new JedisPool(new GenericObjectPoolConfig<Jedis>(), stack.redis().host(), stack.redis().port());
    Map<String, CacheBuilder> local = Map.of(CacheConsts.DEFAULT_AREA,
        CaffeineCacheBuilder.createCaffeineCacheBuilder());
    Map<String, CacheBuilder> remotes = Map.of(CacheConsts.DEFAULT_AREA,
        RedisCacheBuilder.createRedisCacheBuilder().jedisPool(pool).broadcastChannel("peers-jetcache"));
    CacheBuilderTemplate template = new CacheBuilderTemplate(false, local, remotes);
    template.getCacheMonitorInstallers().add(new NotifyMonitorInstaller(area -> template.getCacheBuilder(1, area)));
    manager = new SimpleCacheManager();
    manager.setCacheBuilderTemplate(template);
    both = manager.getOrCreateCache(twoLevel("peers-both").expire(Workload.REMOTE_TTL).build());
    remote = manager.getOrCreateCache(QuickConfig.newBuilder("peers-remote").cacheType(CacheType.REMOTE)
        .expire(Workload.REMOTE_TTL).build());
    fills = manager.getOrCreateCache(twoLevel("peers-fill").expire(Workload.FILL_TTL).build());
    keys = Workload.keys();
    Cache<String, byte[]> localOfBoth = localOf(both);
    for (String key : keys) {
      both.put(key, Workload.value());
      remote.put(key, Workload.value());
    }
    for (String key : keys) {
      if (localOfBoth.get(key) == null) {
        throw new IllegalStateException("JetCache BOTH cache: key " + key + " not in its local cache after put");
      }
      if (remote.get(key) == null) {
        throw new IllegalStateException("JetCache REMOTE cache: key " + key + " not in Redis after put");
      }
    }
    if (!(CacheUtil.getAbstractCache(fills) instanceof MultiLevelCache)) {
      throw new IllegalStateException("JetCache fill cache is not two-level: " + fills.getClass().getName());
    }
  }

  private static QuickConfig.Builder twoLevel(String name) {
    return QuickConfig.newBuilder(name)
        .cacheType(CacheType.BOTH)
        .syncLocal(true)
        .localLimit(Workload.LOCAL_MAXIMUM_SIZE)
        .localExpire(Workload.LOCAL_TTL);
  }

  @SuppressWarnings("unchecked")
  private static Cache<String, byte[]> localOf(Cache<String, byte[]> cache) {
    if (!(CacheUtil.getAbstractCache(cache) instanceof MultiLevelCache<String, byte[]> twoLevel)) {
      throw new IllegalStateException("JetCache BOTH cache is not a MultiLevelCache: " + cache.getClass().getName());
    }
    return twoLevel.caches()[0];
  }

  @Override
  void closeClients() {
    if (manager != null) {
      manager.close();
    }
    if (pool != null) {
      pool.close();
    }
  }
}
