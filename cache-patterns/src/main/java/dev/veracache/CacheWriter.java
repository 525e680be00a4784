package dev.veracache;

/**
 * Writes the source of truth for a {@link WriteThroughCache}. Both methods run before the cache is touched; when they
 * throw, the cache is left alone and the exception reaches the caller as {@link CacheWriterException}.
 */
public interface CacheWriter<K, V> {

  /**
   * Commits {@code value} and returns the value as committed, carrying the version the database gave it (for example
   * a {@code version} column incremented by the update). That version fences the cache set.
   */
  V write(K key, V value) throws Exception;

  /** Deletes the row. */
  void delete(K key) throws Exception;
}
