package dev.veracache.chaos.strategy;

import dev.veracache.ValueCodec;
import dev.veracache.baseline.NaiveTwoLevelCache;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The common hand-made two-level cache ({@link NaiveTwoLevelCache}: a Caffeine L1 in front of naive cache-aside in
 * Redis, L1 invalidations from tracking pushes on a second connection), driven by the workload. It leaks in R7 (an
 * invalidation processed before the GET reply that it overtook) and R5 (pushes lost while disconnected). "Not found"
 * is cached as the empty string.
 */
final class NaiveTwoLevelStrategy implements CacheUnderTest {

  private static final Duration VALUE_TTL = Duration.ofMinutes(10);

  private final RunContext context;
  private final NaiveTwoLevelCache<String> cache;
  /** How many invalidation pushes each key received: an R7 injection waits for the push of the write it waited on. */
  private final ConcurrentHashMap<String, long[]> pushes = new ConcurrentHashMap<>();

  NaiveTwoLevelStrategy(RunContext context, String redisUri) {
    this.context = context;
    this.cache = new NaiveTwoLevelCache<>(redisUri, context.namespace, ValueCodec.utf8(), new ReplyRaceHooks());
    cache.onInvalidation(redisKey -> {
      long[] count = counter(context.keyOf(redisKey));
      synchronized (count) {
        count[0]++;
        count.notifyAll();
      }
    });
  }

  @Override
  public long read(String key) throws Exception {
    return parseRedisValue(cache.get(key, k -> {
      String loaded = context.loader.load(k);
      return loaded == null ? "" : loaded;
    }, VALUE_TTL));
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    Workload.Commit commit = writer.commit(row);
    for (String key : commit.appInvalidates()) {
      try {
        cache.invalidate(key);
      } catch (RuntimeException e) {
        // the pattern: a failed delete is not retried
      }
    }
    writer.settle(commit);
  }

  @Override
  public Long peekL1(String key) {
    return parseRedisValue(cache.peekL1(key));
  }

  @Override
  public Long parseRedisValue(String raw) {
    return NaiveRedisStrategy.parseValue(raw);
  }

  @Override
  public void close() {
    cache.close();
  }

  private long[] counter(String key) {
    return pushes.computeIfAbsent(key, x -> new long[1]);
  }

  /** R7: hold a GET answer until a newer write settled and its push reached this instance's L1. */
  private final class ReplyRaceHooks implements CacheHooks {
    @Override
    public void afterRedisRead(String redisKey) {
      RunContext.answeredByRedis();
      String key = context.keyOf(redisKey);
      long[] count = counter(key);
      long pushesBefore;
      synchronized (count) {
        pushesBefore = count[0];
      }
      if (!context.holdRedisReply(key)) {
        return;
      }
      long deadline = System.nanoTime()
          + TimeUnit.MILLISECONDS.toNanos(context.scenario.raceInjection().raceHoldMillis());
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
