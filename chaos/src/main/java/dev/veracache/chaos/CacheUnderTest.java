package dev.veracache.chaos;

/**
 * One cache instance of a strategy (standing for one JVM of the application), as the workload drives it.
 * Implementations: {@link NaiveRedisStrategy}, {@link NaiveTwoLevelStrategy},
 * {@link VersionFenceOnlyStrategy}, {@link VeracacheStrategy}.
 */
interface CacheUnderTest extends AutoCloseable {

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
   * What this instance serves for the key without the database (its L1, else Redis): the version,
   * {@link History#NOT_FOUND} for a cached "not found", or null when nothing is cached.
   */
  Long cachedVersion(String key) throws Exception;

  /** The version a raw Redis value of this strategy stands for (as {@link #cachedVersion}), or null for no value. */
  Long parseRedisValue(String raw);

  /**
   * Adds what this instance counted of the run to the run's measures (a Veracache instance: its fences' refusals,
   * {@link RunContext#FENCE_REFUSALS}); called once, after the workload stopped.
   */
  default void addMeasures(FaultMeasures measures) {}

  @Override
  void close();
}
