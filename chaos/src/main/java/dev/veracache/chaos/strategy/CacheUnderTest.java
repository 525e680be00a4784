package dev.veracache.chaos.strategy;

import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;

/**
 * One cache instance of a strategy (standing for one JVM of the application), as the workload drives it.
 * Implementations: {@link NaiveRedisStrategy}, {@link NaiveTwoLevelStrategy},
 * {@link VersionFenceOnlyStrategy}, {@link VeracacheStrategy}.
 */
public interface CacheUnderTest extends AutoCloseable {

  /**
   * Reads the key through the cache (its loader is {@link RunContext#loader}, which reads the database): the version,
   * or {@link History#NOT_FOUND}. Which level answered is attributed by {@link RunContext}.
   */
  long read(String key) throws Exception;

  /**
   * One write of row {@code row} by {@code writer}: commit it (through the cache, for write-through), then the
   * strategy's own post-write steps, then {@link RunContext.Writer#settle}.
   */
  void write(RunContext.Writer writer, int row) throws Exception;

  /**
   * What this instance's L1 holds for the key, looked at directly: no load, no {@code get}, no Redis, nothing changed.
   * The version, {@link History#NOT_FOUND} for a cached "not found", or null when its L1 holds nothing for the key (or
   * the strategy has no L1). An entry the instance would not serve right now (while it distrusts its L1) is shown
   * all the same. The end-of-run comparison ({@code QuiescenceComparison}) reads Redis itself.
   *
   * <p>The default refuses, naming the strategy: a strategy that does not say what its L1 holds must not pass the
   * comparison by default.
   *
   * @throws Exception if the L1 cannot be looked at; the comparison then fails the run, naming the key and instance
   */
  default Long peekL1(String key) throws Exception {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not say what its L1 holds for "
        + key + ": implement CacheUnderTest.peekL1 (return null when the strategy has no L1)");
  }

  /**
   * The version a raw Redis value of this strategy stands for (as {@link #peekL1}), or null for no value (nothing, or
   * a record that holds no value: a tombstone, a lease).
   *
   * @throws IllegalArgumentException naming the value when it is not a value this strategy writes
   */
  Long parseRedisValue(String raw);

  /**
   * Adds what this instance counted of the run to the run's measures (a Veracache instance: its fences' refusals,
   * {@link RunContext#FENCE_REFUSALS}); called once, after the workload stopped.
   */
  default void addMeasures(FaultMeasures measures) {}

  @Override
  void close();
}
