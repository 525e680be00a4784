package dev.veracache.chaos;

/** One cache instance of a strategy, as the workload drives it. */
interface CacheUnderTest extends AutoCloseable {

  /** Reads the key through the cache (the loader reads the database); the version, or -1 for not found. */
  long read(String key) throws Exception;

  /** The strategy's own step after the writer committed version {@code version} of {@code key}. */
  void afterWrite(String key, long version) throws Exception;

  /** What this instance's cache serves for the key without consulting the database, or null when not cached. */
  Long cachedVersion(String key) throws Exception;

  @Override
  void close();
}
