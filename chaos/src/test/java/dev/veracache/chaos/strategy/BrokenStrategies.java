package dev.veracache.chaos.strategy;

import dev.veracache.CacheOptions;
import dev.veracache.VeracacheOptions;
import dev.veracache.chaos.strategy.StrategyRegistry.InstanceFactory;
import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;

/**
 * Deliberately broken Veracache variants, each the regression one blind spot of the chaos verdict would miss: run
 * through {@code ScenarioRunner} in place of a Veracache strategy (and judged as it), each must turn the verdict red.
 * Test fixtures only.
 */
public final class BrokenStrategies {

  private BrokenStrategies() {}

  /** Every read throws: an unavailable cache (skipped by the staleness check, so never stale). */
  public static InstanceFactory alwaysFailingReads() {
    return (context, instance, uri) -> new Delegating(cacheAside(context, instance, uri)) {
      @Override
      public long read(String key) {
        throw new IllegalStateException("broken on purpose: every read fails");
      }
    };
  }

  /** Every read goes to the database: a pass-through that is never stale because it never caches. */
  public static InstanceFactory noCache() {
    return (context, instance, uri) -> new Delegating(cacheAside(context, instance, uri)) {
      @Override
      public long read(String key) throws Exception {
        return NaiveRedisStrategy.version(context.loader.load(key));
      }
    };
  }

  /**
   * No cross-JVM lease: a miss waits 1 ms for another instance's lease before loading itself, so every instance loads
   * a hot key at once (single flight stays within each JVM).
   */
  public static InstanceFactory noRedisLease() {
    return tweaked(new VeracacheStrategy.Tweaks() {
      @Override
      public CacheOptions.Builder<String, String> cache(CacheOptions.Builder<String, String> cache) {
        return cache.leaseWaitTimeout(Duration.ofMillis(1));
      }
    });
  }

  /**
   * The library's hooks never fire the race injections (as if the library stopped calling them): only reads are
   * attributed to their level, nothing is held, so the race never happens and a clean result proves nothing.
   */
  public static InstanceFactory hooksNeverFired() {
    CacheHooks levelsOnly = new CacheHooks() {
      @Override
      public void afterRedisRead(String redisKey) {
        RunContext.answeredByRedis();
      }

      @Override
      public void beforeLeaseWait(String redisKey) {
        RunContext.answeredByRedis();
      }
    };
    return tweaked(new VeracacheStrategy.Tweaks() {
      @Override
      public CacheOptions.Builder<String, String> cache(CacheOptions.Builder<String, String> cache) {
        return cache.hooks(levelsOnly);
      }
    });
  }

  /**
   * L1 trusted through a Redis pause: the heartbeat that would notice a silent Redis comes once an hour, and a
   * degraded client still trusts L1 entries up to a minute old.
   */
  public static InstanceFactory l1TrustedThroughAPause() {
    return tweaked(new VeracacheStrategy.Tweaks() {
      @Override
      public VeracacheOptions.Builder client(VeracacheOptions.Builder client) {
        return client.heartbeatInterval(Duration.ofHours(1)).degradedL1Ttl(Duration.ofMinutes(1));
      }
    });
  }

  /**
   * Not basically available: a read that Veracache would serve from the database because Redis failed (its
   * {@code veracache.degraded.reads} counter moved during the read) throws instead, as a cache without its degraded
   * path would. Outside a Redis fault it is Veracache itself.
   */
  public static InstanceFactory failsInsteadOfDegrading() {
    return (context, instance, uri) -> {
      VeracacheStrategy veracache = cacheAside(context, instance, uri);
      return new Delegating(veracache) {
        @Override
        public long read(String key) throws Exception {
          double degradedBefore = veracache.counted("veracache.degraded.reads");
          long version = veracache.read(key);
          if (veracache.counted("veracache.degraded.reads") > degradedBefore) {
            throw new IllegalStateException("broken on purpose: Redis failed, so the read fails");
          }
          return version;
        }
      };
    };
  }

  /**
   * Never recovers from a Redis fault: once Veracache served a read from the database because Redis failed, every
   * later read of the instance goes to the database (as a client whose circuit breaker never closed again). Fresh and
   * available, so never stale; before the fault it is Veracache itself, and its hits there outnumber the misses after.
   */
  public static InstanceFactory neverRecoversFromARedisFault() {
    return (context, instance, uri) -> {
      VeracacheStrategy veracache = cacheAside(context, instance, uri);
      return new Delegating(veracache) {
        @Override
        public long read(String key) throws Exception {
          if (veracache.counted("veracache.degraded.reads") > 0) {
            return NaiveRedisStrategy.version(context.loader.load(key));
          }
          return veracache.read(key);
        }
      };
    };
  }

  private static InstanceFactory tweaked(VeracacheStrategy.Tweaks tweaks) {
    return (context, instance, uri) -> new VeracacheStrategy(context, instance, uri,
        VeracacheStrategy.Pattern.CACHE_ASIDE, tweaks);
  }

  /** The strategy the broken variants stand in for: VERACACHE_CACHE_ASIDE. */
  private static VeracacheStrategy cacheAside(RunContext context, int instance, String uri) {
    return new VeracacheStrategy(context, instance, uri, VeracacheStrategy.Pattern.CACHE_ASIDE);
  }

  /** A Veracache instance with one method replaced. */
  private abstract static class Delegating implements CacheUnderTest {
    private final CacheUnderTest delegate;

    Delegating(CacheUnderTest delegate) {
      this.delegate = delegate;
    }

    @Override
    public void write(RunContext.Writer writer, int row) throws Exception {
      delegate.write(writer, row);
    }

    @Override
    public Long peekL1(String key) throws Exception {
      return delegate.peekL1(key);
    }

    @Override
    public Long parseRedisValue(String raw) {
      return delegate.parseRedisValue(raw);
    }

    @Override
    public void addMeasures(FaultMeasures measures) {
      delegate.addMeasures(measures);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
