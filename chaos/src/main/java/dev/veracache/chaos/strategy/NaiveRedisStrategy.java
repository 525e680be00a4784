package dev.veracache.chaos.strategy;

import dev.veracache.ValueCodec;
import dev.veracache.baseline.NaiveCacheAside;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The textbook patterns over Redis alone, no fences, no CDC: cache-aside with delete after write (NAIVE), the same
 * with a second delete after a guessed delay (DOUBLE_DELETE), and write-through that SETs the committed value after
 * the commit, or DELs the key after a delete (NAIVE_WRITE_THROUGH). A failed delete or set is not retried: that is the
 * pattern.
 */
final class NaiveRedisStrategy implements CacheUnderTest {

  private static final Logger log = LoggerFactory.getLogger(NaiveRedisStrategy.class);

  /** What the application does after its commit. */
  enum Mode {
    /** Delete the keys (NAIVE). */
    DELETE,
    /** Delete the keys, and again after {@code doubleDeleteDelayMillis} (DOUBLE_DELETE). */
    DOUBLE_DELETE,
    /** SET the committed value, or DEL the key after a delete (NAIVE_WRITE_THROUGH). */
    WRITE_THROUGH
  }

  private final RunContext context;
  private final Mode mode;
  private final NaiveCacheAside<String> cache;
  private final ScheduledExecutorService secondDeletes = Executors.newSingleThreadScheduledExecutor();

  NaiveRedisStrategy(RunContext context, String redisUri, Mode mode) {
    this.context = context;
    this.mode = mode;
    this.cache = new NaiveCacheAside<>(redisUri, context.namespace, ValueCodec.utf8(), Duration.ofMinutes(10),
        context.hooks, true);
  }

  @Override
  public long read(String key) throws Exception {
    return version(cache.get(key, context.loader));
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    if (mode == Mode.WRITE_THROUGH) {
      Workload.Intent intent = writer.nextIntent();
      Workload.Commit commit = writer.commit(row, intent);
      if (intent == Workload.Intent.DELETE) {
        delete(commit.appInvalidates());
        writer.settle(commit);
        return;
      }
      String key = commit.effects().get(0).key();
      context.holdSet(key, commit.version());
      try {
        cache.set(key, Long.toString(commit.version()));
      } catch (RuntimeException e) {
        log.debug("naive set of {} failed, not retried: {}", key, e.toString());
      }
      writer.settle(commit);
      return;
    }
    Workload.Commit commit = writer.commit(row);
    delete(commit.appInvalidates());
    if (mode == Mode.DOUBLE_DELETE) {
      // Runs on secondDeletes after the delay; a failure would leave the commit unsettled: it is logged, not lost.
      Executor afterTheDelay = CompletableFuture.delayedExecutor(context.scenario.cache().doubleDeleteDelayMillis(),
          TimeUnit.MILLISECONDS, secondDeletes);
      CompletableFuture.runAsync(() -> {
        delete(commit.appInvalidates());
        writer.settle(commit);
      }, afterTheDelay).exceptionally(e -> {
        log.error("second delete of {} failed; the commit stays unsettled", commit.appInvalidates(), e);
        return null;
      });
    } else {
      writer.settle(commit);
    }
  }

  private void delete(List<String> keys) {
    for (String key : keys) {
      try {
        cache.invalidate(key);
      } catch (RuntimeException e) {
        log.debug("naive delete of {} failed, not retried: {}", key, e.toString());
      }
    }
  }

  /** No L1: every read goes to Redis. */
  @Override
  public Long peekL1(String key) {
    return null;
  }

  @Override
  public Long parseRedisValue(String raw) {
    return parseValue(raw);
  }

  /** A naive cache's value: the version as text, the empty string for a cached "not found". */
  static Long parseValue(String raw) {
    if (raw == null) {
      return null;
    }
    if (raw.isEmpty()) {
      return History.NOT_FOUND;
    }
    try {
      return Long.parseLong(raw);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a naive cache's value (a version, or empty for not found): '" + raw
          + "'", e);
    }
  }

  static long version(String value) {
    return value == null ? History.NOT_FOUND : Long.parseLong(value);
  }

  @Override
  public void close() {
    secondDeletes.shutdownNow();
    cache.close();
  }
}
