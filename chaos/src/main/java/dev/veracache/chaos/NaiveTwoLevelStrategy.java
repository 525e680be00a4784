package dev.veracache.chaos;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The common hand-made two-level cache (JetCache, J2Cache style): a Caffeine L1 with a long TTL in front of naive
 * cache-aside in Redis (GET; on a miss load and SET; DEL after a write), and L1 invalidations from Redis tracking
 * pushes on a second connection. Two known leaks: an invalidation pushed on the second connection before the first
 * connection's GET reply is processed is lost, and the old value goes into L1 (R7); invalidations pushed while the
 * instance is disconnected are lost, and nothing clears L1 on reconnect (R5).
 */
final class NaiveTwoLevelStrategy implements CacheUnderTest {

  private static final long VALUE_TTL_MILLIS = Duration.ofMinutes(10).toMillis();

  private final RunContext context;
  private final Cache<String, String> l1 = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(10)).build();
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> data;
  private final RedisCommands<String, String> redis;
  private final StatefulRedisConnection<String, String> invalidations;
  /** How many invalidation pushes each key received: an R7 injection waits for the push of the write it waited on. */
  private final ConcurrentHashMap<String, long[]> pushes = new ConcurrentHashMap<>();
  private final String prefix;

  NaiveTwoLevelStrategy(RunContext context, String redisUri) {
    this.context = context;
    this.prefix = context.namespace + ":";
    this.client = RedisClient.create(redisUri);
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    this.data = client.connect();
    this.redis = data.sync();
    this.invalidations = client.connect();
    invalidations.addListener(message -> {
      if (!"invalidate".equals(message.getType()) || !(message.getContent().get(1) instanceof List<?> keys)) {
        return;
      }
      for (Object k : keys) {
        String redisKey = k instanceof ByteBuffer b ? StandardCharsets.UTF_8.decode(b.duplicate()).toString()
            : String.valueOf(k);
        if (redisKey.startsWith(prefix)) {
          String key = redisKey.substring(prefix.length());
          l1.invalidate(key);
          long[] count = pushes.computeIfAbsent(key, x -> new long[1]);
          synchronized (count) {
            count[0]++;
            count.notifyAll();
          }
        }
      }
    });
    invalidations.sync().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(prefix));
  }

  @Override
  public long read(String key) throws Exception {
    String cached = l1.getIfPresent(key);
    if (cached != null) {
      return parseRedisValue(cached);
    }
    long pushesBefore = pushCount(key);
    String raw = redis.get(prefix + key);
    RunContext.answeredByRedis();
    if (raw != null) {
      if (context.holdRedisReply(key)) {
        awaitPush(key, pushesBefore); // R7: the invalidation has reached L1 before the reply is stored
      }
      l1.put(key, raw);
      return parseRedisValue(raw);
    }
    String loaded = context.loader.load(key);
    context.holdFill(key);
    String value = loaded == null ? "" : loaded;
    redis.set(prefix + key, value, SetArgs.Builder.px(VALUE_TTL_MILLIS));
    l1.put(key, value);
    return parseRedisValue(value);
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    Workload.Commit commit = writer.commit(row);
    for (String key : commit.appInvalidates()) {
      try {
        redis.del(prefix + key);
      } catch (RuntimeException e) {
        // the pattern: a failed delete is not retried
      }
    }
    writer.settle(commit);
  }

  @Override
  public Long cachedVersion(String key) {
    String cached = l1.getIfPresent(key);
    return parseRedisValue(cached != null ? cached : redis.get(prefix + key));
  }

  @Override
  public Long parseRedisValue(String raw) {
    return raw == null ? null : raw.isEmpty() ? History.NOT_FOUND : Long.parseLong(raw);
  }

  @Override
  public void close() {
    data.close();
    invalidations.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  private long pushCount(String key) {
    long[] count = pushes.computeIfAbsent(key, x -> new long[1]);
    synchronized (count) {
      return count[0];
    }
  }

  private void awaitPush(String key, long pushesBefore) {
    long[] count = pushes.computeIfAbsent(key, x -> new long[1]);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(context.scenario.raceHoldMillis());
    synchronized (count) {
      while (count[0] == pushesBefore && System.nanoTime() < deadline) {
        try {
          TimeUnit.NANOSECONDS.timedWait(count, deadline - System.nanoTime());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
