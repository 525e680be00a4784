package dev.veracache;

import static dev.veracache.Preconditions.notNull;

/**
 * Write-through: the cache owns the loader and the writer. {@link #put} writes the database first and then sets the
 * committed value with its version, so two writers whose sets arrive out of order cannot leave the older one cached
 * (R4). A set Redis does not take becomes an invalidation.
 */
public final class WriteThroughCache<K, V> {

  private final TieredCache<K, V> cache;
  private final CacheLoader<K, V> loader;
  private final CacheWriter<K, V> writer;

  WriteThroughCache(TieredCache<K, V> cache, CacheLoader<K, V> loader, CacheWriter<K, V> writer) {
    this.cache = cache;
    this.loader = loader;
    this.writer = writer;
  }

  /**
   * The cached value, or the loader's (null = not found). See {@link TieredCache#get}.
   *
   * @throws CacheLoaderException if the loader threw; nothing is cached
   */
  public V get(K key) {
    return cache.get(key, loader);
  }

  /**
   * Writes {@code value} to the database, then caches what was committed.
   *
   * @return the value as committed (with its new version)
   * @throws CacheWriterException if the database write failed; the cache is untouched
   */
  public V put(K key, V value) {
    notNull(key, "key");
    notNull(value, "value");
    V committed;
    try {
      committed = writer.write(key, value);
    } catch (Exception e) {
      throw new CacheWriterException("cache '" + cache.namespace() + "': write of key '" + key + "' failed: " + e, e);
    }
    if (committed == null) {
      throw new CacheWriterException("cache '" + cache.namespace() + "': writer returned null for key '" + key
          + "'; it must return the committed value", null);
    }
    cache.put(key, committed);
    return committed;
  }

  /**
   * Deletes the row, then invalidates the key.
   *
   * @throws CacheWriterException if the database delete failed; the cache is untouched
   */
  public void delete(K key) {
    notNull(key, "key");
    try {
      writer.delete(key);
    } catch (Exception e) {
      throw new CacheWriterException("cache '" + cache.namespace() + "': delete of key '" + key + "' failed: " + e, e);
    }
    cache.invalidate(key);
  }

  public TieredCache<K, V> tiered() {
    return cache;
  }
}
