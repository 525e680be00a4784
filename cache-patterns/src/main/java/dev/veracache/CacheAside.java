package dev.veracache;

/**
 * Cache-aside: read with a loader; after each committed write, invalidate. The fences make the classic race (a slow
 * reader filling the old row after the writer's delete, R1) harmless: that fill is refused.
 */
public final class CacheAside<K, V> {

  private final TieredCache<K, V> cache;

  CacheAside(TieredCache<K, V> cache) {
    this.cache = cache;
  }

  /** The cached value, or {@code loader}'s (null = not found). See {@link TieredCache#get}. */
  public V get(K key, CacheLoader<? super K, ? extends V> loader) {
    return cache.get(key, loader);
  }

  /** Call after the transaction that changed the row committed. */
  public void invalidate(K key) {
    cache.invalidate(key);
  }

  /** Call after the transaction that produced row version {@code version} committed. */
  public void invalidate(K key, long version) {
    cache.invalidate(key, version);
  }

  public TieredCache<K, V> tiered() {
    return cache;
  }
}
