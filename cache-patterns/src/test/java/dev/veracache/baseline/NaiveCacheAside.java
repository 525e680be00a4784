package dev.veracache.baseline;

import dev.veracache.CacheLoader;
import dev.veracache.ValueCodec;
import dev.veracache.testing.CacheHooks;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.Objects;

/**
 * The textbook cache-aside that Veracache is measured against, for tests, demos and chaos scenarios only: GET; on a
 * miss load and SET with a TTL; after a write DEL. No lease, no version, no L1. It leaks stale values in race R1 (a slow
 * reader's SET lands after the writer's DEL) and R2 (a DEL that fails is simply lost).
 */
public final class NaiveCacheAside<V> implements AutoCloseable {

  private final RedisClient client;
  private final StatefulRedisConnection<String, byte[]> connection;
  private final RedisCommands<String, byte[]> redis;
  private final String prefix;
  private final ValueCodec<V> codec;
  private final Duration ttl;
  private final CacheHooks hooks;
  private final boolean cacheNotFound;

  public NaiveCacheAside(String redisUri, String namespace, ValueCodec<V> codec, Duration ttl, CacheHooks hooks) {
    this(redisUri, namespace, codec, ttl, hooks, false);
  }

  /** @param cacheNotFound cache a loader's null as an empty string (the usual hand-made negative caching) */
  public NaiveCacheAside(String redisUri, String namespace, ValueCodec<V> codec, Duration ttl, CacheHooks hooks,
      boolean cacheNotFound) {
    this.cacheNotFound = cacheNotFound;
    this.client = RedisClient.create(Objects.requireNonNull(redisUri, "redisUri must not be null"));
    this.connection = BaselineConnections.connect(client, RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE),
        redisUri);
    this.redis = connection.sync();
    this.prefix = Objects.requireNonNull(namespace, "namespace must not be null") + ":";
    this.codec = Objects.requireNonNull(codec, "codec must not be null");
    this.ttl = Objects.requireNonNull(ttl, "ttl must not be null");
    this.hooks = Objects.requireNonNull(hooks, "hooks must not be null");
  }

  public V get(String key, CacheLoader<String, V> loader) throws Exception {
    String redisKey = prefix + key;
    byte[] cached = redis.get(redisKey);
    if (cached != null) {
      hooks.afterRedisRead(redisKey);
      return cached.length == 0 ? null : codec.decode(cached);
    }
    V value = loader.load(key);
    hooks.afterLoad(redisKey);
    if (value != null || cacheNotFound) {
      redis.set(redisKey, value == null ? new byte[0] : codec.encode(value), SetArgs.Builder.px(ttl.toMillis()));
    }
    return value;
  }

  public void invalidate(String key) {
    redis.del(prefix + key);
  }

  /** The textbook write-through: write the database (the caller did), then SET the new value, unversioned. */
  public void set(String key, V value) throws Exception {
    redis.set(prefix + key, codec.encode(value), SetArgs.Builder.px(ttl.toMillis()));
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
