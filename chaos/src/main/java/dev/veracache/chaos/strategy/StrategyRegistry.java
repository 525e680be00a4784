package dev.veracache.chaos.strategy;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.RunContext;
import java.util.EnumMap;
import java.util.Map;

/**
 * Which {@link CacheUnderTest} class runs each {@link Strategy} a scenario names. Adding a strategy is a constant of
 * {@link Strategy} (its label and flags), its class, and one line here.
 *
 * <p>Invariant: every strategy that runs cache instances has a factory (checked when the class loads); the ones that
 * do not (HEAP_WRITE_BEHIND and VERACACHE_WRITE_BEHIND, write-behinds in JVMs of their own) say so ({@link #runsCacheInstances}).
 */
public final class StrategyRegistry {

  /** Makes one cache instance of a run. */
  @FunctionalInterface
  public interface InstanceFactory {
    /**
     * @param instance 0-based, standing for one JVM of the application
     * @param redisUri Redis as this instance reaches it (through its proxy when the fault needs one)
     */
    CacheUnderTest create(RunContext context, int instance, String redisUri);
  }

  private static final Map<Strategy, InstanceFactory> FACTORIES = new EnumMap<>(Strategy.class);

  static {
    // Short timeouts for the naive clients too: a paused Redis must cost a timeout, not a minute.
    FACTORIES.put(Strategy.NAIVE, naiveRedis(NaiveRedisStrategy.Mode.DELETE));
    FACTORIES.put(Strategy.DOUBLE_DELETE, naiveRedis(NaiveRedisStrategy.Mode.DOUBLE_DELETE));
    FACTORIES.put(Strategy.NAIVE_WRITE_THROUGH, naiveRedis(NaiveRedisStrategy.Mode.WRITE_THROUGH));
    FACTORIES.put(Strategy.NAIVE_TWO_LEVEL, (context, instance, uri) -> new NaiveTwoLevelStrategy(context, naive(uri)));
    FACTORIES.put(Strategy.VERSION_FENCE_ONLY,
        (context, instance, uri) -> new VersionFenceOnlyStrategy(context, naive(uri)));
    // The CDC-only ones (and their baselines) are cache-aside clients whose application does not invalidate
    // (Strategy.appInvalidates); the listener's configuration is the runner's (ScenarioRun.prepare).
    for (Strategy asideClient : new Strategy[] {Strategy.FORGETFUL_CDC, Strategy.CDC_ONLY_UNBOUNDED,
        Strategy.CDC_NO_LOSS_CHECK, Strategy.VERACACHE_CACHE_ASIDE, Strategy.VERACACHE_CDC_ONLY}) {
      FACTORIES.put(asideClient, veracache(VeracacheStrategy.Pattern.CACHE_ASIDE));
    }
    FACTORIES.put(Strategy.VERACACHE_READ_THROUGH, veracache(VeracacheStrategy.Pattern.READ_THROUGH));
    FACTORIES.put(Strategy.VERACACHE_WRITE_THROUGH, veracache(VeracacheStrategy.Pattern.WRITE_THROUGH));
    for (Strategy strategy : Strategy.values()) {
      if (runsCacheInstances(strategy) != FACTORIES.containsKey(strategy)) {
        throw new ExceptionInInitializerError("no CacheUnderTest for " + strategy + ": add one to StrategyRegistry");
      }
    }
  }

  private StrategyRegistry() {}

  /** Whether a run of the strategy drives cache instances (all but the write-behinds, which run their own JVMs). */
  public static boolean runsCacheInstances(Strategy strategy) {
    return !strategy.writeBehind();
  }

  /** The strategy's own instances. */
  public static InstanceFactory factory(Strategy strategy) {
    InstanceFactory factory = FACTORIES.get(strategy);
    if (factory == null) {
      throw new IllegalArgumentException(strategy + " has no cache instances");
    }
    return factory;
  }

  private static InstanceFactory naiveRedis(NaiveRedisStrategy.Mode mode) {
    return (context, instance, uri) -> new NaiveRedisStrategy(context, naive(uri), mode);
  }

  private static InstanceFactory veracache(VeracacheStrategy.Pattern pattern) {
    return (context, instance, uri) -> new VeracacheStrategy(context, instance, uri, pattern);
  }

  private static String naive(String redisUri) {
    return redisUri + (redisUri.contains("?") ? "&" : "?") + "timeout=300ms";
  }
}
