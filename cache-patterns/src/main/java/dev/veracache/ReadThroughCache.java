package dev.veracache;

/** Read-through: the cache owns the loader, callers only ask for keys. Invalidate after committed writes. */
public final class ReadThroughCache<K, V> {

  private final TieredCache<K, V> cache;
  private final CacheLoader<K, V> loader;

  ReadThroughCache(TieredCache<K, V> cache, CacheLoader<K, V> loader) {
    this.cache = cache;
    this.loader = loader;
  }

  /**
   * The cached value, or the loader's (null = not found). See {@link TieredCache#get}.
   *
   * @throws CacheLoaderException if the loader threw; nothing is cached
   */
  public V get(K key) {
    return cache.get(key, loader);
  }

  public void invalidate(K key) {
    cache.invalidate(key);
  }

  public void invalidate(K key, long version) {
    cache.invalidate(key, version);
  }

  public TieredCache<K, V> tiered() {
    return cache;
  }
}
