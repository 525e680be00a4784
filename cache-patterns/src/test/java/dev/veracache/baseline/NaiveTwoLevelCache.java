package dev.veracache.baseline;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.veracache.CacheLoader;
import dev.veracache.ValueCodec;
import dev.veracache.testing.CacheHooks;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The common hand-made L1-over-Redis (JetCache, J2Cache style), for tests and chaos scenarios only: a Caffeine L1
 * filled from a GET on one connection, and invalidations from Redis tracking pushes on a second connection. An
 * invalidation that arrives on the second connection before the GET's reply is processed is lost, and the old value
 * then stays in L1 (race R7); invalidations pushed while the instance is disconnected are lost too, and nothing clears
 * L1 on reconnect (R5).
 */
public final class NaiveTwoLevelCache<V> implements AutoCloseable {

  private final RedisClient client;
  private final StatefulRedisConnection<String, byte[]> data;
  private final StatefulRedisConnection<String, byte[]> invalidations;
  private final RedisCommands<String, byte[]> redis;
  private final Cache<String, V> l1 = Caffeine.newBuilder().maximumSize(10_000).build();
  private final String prefix;
  private final ValueCodec<V> codec;
  private final CacheHooks hooks;
  private volatile Consumer<String> onInvalidation = key -> {};

  public NaiveTwoLevelCache(String redisUri, String namespace, ValueCodec<V> codec, CacheHooks hooks) {
    this.client = RedisClient.create(Objects.requireNonNull(redisUri, "redisUri must not be null"));
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    RedisCodec<String, byte[]> redisCodec = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
    this.data = BaselineConnections.connect(client, redisCodec, redisUri);
    this.invalidations = BaselineConnections.connect(client, redisCodec, redisUri);
    this.redis = data.sync();
    this.prefix = Objects.requireNonNull(namespace, "namespace must not be null") + ":";
    this.codec = Objects.requireNonNull(codec, "codec must not be null");
    this.hooks = Objects.requireNonNull(hooks, "hooks must not be null");
    invalidations.addListener(message -> {
      if (!"invalidate".equals(message.getType()) || !(message.getContent().get(1) instanceof List<?> keys)) {
        return;
      }
      for (Object k : keys) {
        String key = k instanceof ByteBuffer b ? StandardCharsets.UTF_8.decode(b.duplicate()).toString()
            : String.valueOf(k);
        if (key.startsWith(prefix)) {
          l1.invalidate(key.substring(prefix.length()));
          onInvalidation.accept(key);
        }
      }
    });
    invalidations.sync().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(prefix));
  }

  /** Called on the push thread after each invalidation was applied to L1; for tests that order events. */
  public void onInvalidation(Consumer<String> listener) {
    this.onInvalidation = Objects.requireNonNull(listener, "listener must not be null");
  }

  /** L1, else Redis (the answer goes into L1); null when Redis has nothing. */
  public V get(String key) throws Exception {
    V cached = l1.getIfPresent(key);
    return cached != null ? cached : fromRedis(key);
  }

  /**
   * The hand-made two-level cache-aside: L1, else Redis (the answer goes into L1), else the loader, whose value is SET
   * in Redis with {@code ttl} and put into L1. The loader must not return null: encode "not found" as a value.
   */
  public V get(String key, CacheLoader<String, V> loader, Duration ttl) throws Exception {
    V cached = get(key);
    if (cached != null) {
      return cached;
    }
    V loaded = Objects.requireNonNull(loader.load(key), "the loader must not return null");
    hooks.afterLoad(prefix + key);
    redis.set(prefix + key, codec.encode(loaded), SetArgs.Builder.px(ttl.toMillis()));
    l1.put(key, loaded);
    return loaded;
  }

  /** A GET answer goes into L1 after {@link CacheHooks#afterRedisRead}: the point where R7 strikes. */
  private V fromRedis(String key) throws Exception {
    byte[] raw = redis.get(prefix + key);
    if (raw == null) {
      return null;
    }
    hooks.afterRedisRead(prefix + key);
    V value = codec.decode(raw);
    l1.put(key, value);
    return value;
  }

  /** DEL after a write; the tracking pushes drop the key from the L1 of every connected instance. Not retried. */
  public void invalidate(String key) {
    redis.del(prefix + key);
  }

  /** What this instance's L1 holds for the key, or null; changes nothing. */
  public V peekL1(String key) {
    return l1.getIfPresent(key);
  }

  /** What Redis holds for the key, or null; changes nothing. */
  public V peekRedis(String key) throws Exception {
    byte[] raw = redis.get(prefix + key);
    return raw == null ? null : codec.decode(raw);
  }

  @Override
  public void close() {
    data.close();
    invalidations.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
