package dev.veracache.chaos;

import dev.veracache.CacheAside;
import dev.veracache.CacheHooks;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.baseline.NaiveCacheAside;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The strategies of {@link Scenario.Strategy}, as {@link CacheUnderTest} instances. */
final class Strategies {

  /** A loader's answer that means "do not load": used to peek at what a cache holds. */
  private static final class NotCached extends RuntimeException {
    NotCached() {
      super(null, null, false, false);
    }
  }

  private Strategies() {}

  static CacheUnderTest create(Scenario scenario, int instance, String redisUri, String namespace, ChaosTable table,
      CacheHooks hooks) {
    // Short timeouts everywhere: a paused Redis must cost a timeout, not a minute.
    String uri = redisUri + (redisUri.contains("?") ? "&" : "?") + "timeout=300ms";
    return switch (scenario.strategy()) {
      case NAIVE -> new Naive(uri, namespace, table, hooks, 0);
      // The second delete's delay is a guess; here half the slow fill, so fills slower than the guess land after it (R3).
      case DOUBLE_DELETE -> new Naive(uri, namespace, table, hooks, Math.max(1, scenario.slowFillMillis() / 2));
      case VERACACHE_CDC -> new Fenced(redisUri, instance, namespace, table, hooks);
    };
  }

  /** Textbook cache-aside (and, with a delay, delayed double delete); values are the row version as text. */
  private static final class Naive implements CacheUnderTest {
    private final NaiveCacheAside<String> cache;
    private final ChaosTable table;
    private final long secondDeleteMillis;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    Naive(String uri, String namespace, ChaosTable table, CacheHooks hooks, long secondDeleteMillis) {
      this.cache = new NaiveCacheAside<>(uri, namespace, ValueCodec.utf8(), Duration.ofMinutes(10), hooks, true);
      this.table = table;
      this.secondDeleteMillis = secondDeleteMillis;
    }

    @Override
    public long read(String key) throws Exception {
      String v = cache.get(key, table::versionText);
      return v == null ? -1 : Long.parseLong(v);
    }

    @Override
    public void afterWrite(String key, long version) {
      try {
        cache.invalidate(key);
      } catch (RuntimeException e) {
        // The naive pattern: the delete failed, nobody retries.
      }
      if (secondDeleteMillis > 0) {
        scheduler.schedule(() -> {
          try {
            cache.invalidate(key);
          } catch (RuntimeException e) {
            // same
          }
        }, secondDeleteMillis, TimeUnit.MILLISECONDS);
      }
    }

    @Override
    public Long cachedVersion(String key) throws Exception {
      try {
        String v = cache.get(key, k -> {
          throw new NotCached();
        });
        return v == null ? -1L : Long.parseLong(v);
      } catch (NotCached e) {
        return null;
      }
    }

    @Override
    public void close() {
      scheduler.shutdownNow();
      cache.close();
    }
  }

  /** Veracache cache-aside, versioned; the CDC listener runs beside it (started by the runner). */
  private static final class Fenced implements CacheUnderTest {
    private final Veracache veracache;
    private final CacheAside<String, String> cache;
    private final CacheLoader<String, String> loader;

    Fenced(String redisUri, int instance, String namespace, ChaosTable table, CacheHooks hooks) {
      this.veracache = Veracache.create(VeracacheOptions.builder(redisUri).clientName("chaos-" + instance)
          .commandTimeout(Duration.ofMillis(300)).heartbeatInterval(Duration.ofMillis(100))
          .degradedL1Ttl(Duration.ofMillis(100)).recoveryGrace(Duration.ofMillis(300))
          .meterRegistry(new SimpleMeterRegistry()).build());
      this.cache = veracache.cacheAside(CacheOptions.<String, String>builder(namespace, ValueCodec.utf8())
          .version(Long::parseLong).leaseWaitTimeout(Duration.ofMillis(200)).hooks(hooks).build());
      this.loader = table::versionText;
    }

    @Override
    public long read(String key) {
      String v = cache.get(key, loader);
      return v == null ? -1 : Long.parseLong(v);
    }

    @Override
    public void afterWrite(String key, long version) {
      cache.invalidate(key, version);
    }

    @Override
    public Long cachedVersion(String key) {
      try {
        String v = cache.get(key, k -> {
          throw new NotCached();
        });
        return v == null ? -1L : Long.parseLong(v);
      } catch (dev.veracache.CacheLoaderException e) {
        return null;
      }
    }

    @Override
    public void close() {
      veracache.close();
    }
  }
}
