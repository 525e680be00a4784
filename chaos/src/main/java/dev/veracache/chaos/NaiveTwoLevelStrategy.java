package dev.veracache.chaos;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.veracache.CacheHooks;
import dev.veracache.ValueCodec;
import dev.veracache.baseline.NaiveCacheAside;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The common hand-made two-level cache (JetCache, J2Cache style): a Caffeine L1 with a long TTL in front of naive
 * cache-aside in Redis, and L1 invalidations from Redis tracking pushes on a second connection. Two known leaks:
 * an invalidation pushed on the second connection before the first connection's GET reply is processed is lost, and
 * the old value goes into L1 (R7); invalidations pushed while the instance is disconnected are lost, and nothing
 * clears L1 on reconnect (R5).
 */
final class NaiveTwoLevelStrategy implements CacheUnderTest {

  private final RunContext context;
  private final Cache<String, String> l1 = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(10)).build();
  private final NaiveCacheAside<String> l2;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> invalidations;
  /** How many invalidation pushes each key received: an R7 injection waits for the push of the write it waited on. */
  private final ConcurrentHashMap<String, long[]> pushes = new ConcurrentHashMap<>();
  private final String prefix;

  NaiveTwoLevelStrategy(RunContext context, String redisUri) {
    this.context = context;
    this.prefix = context.namespace + ":";
    this.l2 = new NaiveCacheAside<>(redisUri, context.namespace, ValueCodec.utf8(), Duration.ofMinutes(10),
        new ReplyRaceHooks(), true);
    this.client = RedisClient.create(redisUri);
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
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
      return cached.isEmpty() ? History.NOT_FOUND : Long.parseLong(cached);
    }
    String value = l2.get(key, context.loader::load);
    l1.put(key, value == null ? "" : value);
    return NaiveRedisStrategy.version(value);
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    Workload.Commit commit = writer.commit(row);
    for (String key : commit.appInvalidates()) {
      try {
        l2.invalidate(key);
      } catch (RuntimeException e) {
        // the pattern: a failed delete is not retried
      }
    }
    writer.settle(commit);
  }

  @Override
  public Long cachedVersion(String key) throws Exception {
    String cached = l1.getIfPresent(key);
    if (cached != null) {
      return cached.isEmpty() ? History.NOT_FOUND : Long.parseLong(cached);
    }
    try {
      return NaiveRedisStrategy.version(l2.get(key, k -> {
        throw new NaiveRedisStrategy.NotCached();
      }));
    } catch (NaiveRedisStrategy.NotCached e) {
      return null;
    }
  }

  @Override
  public Long parseRedisValue(String raw) {
    return raw == null ? null : raw.isEmpty() ? History.NOT_FOUND : Long.parseLong(raw);
  }

  @Override
  public void close() {
    l2.close();
    invalidations.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  private long pushCount(String key) {
    long[] count = pushes.computeIfAbsent(key, x -> new long[1]);
    synchronized (count) {
      return count[0];
    }
  }

  /** R7: hold the GET reply until a newer write settled and its push reached this instance's L1. */
  private final class ReplyRaceHooks implements CacheHooks {
    @Override
    public void afterRedisRead(String redisKey) {
      RunContext.answeredByRedis();
      String key = context.keyOf(redisKey);
      long pushesBefore = pushCount(key);
      if (!context.holdRedisReply(key)) {
        return;
      }
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

    @Override
    public void afterLoad(String redisKey) {
      context.holdFill(context.keyOf(redisKey));
    }
  }
}
