package dev.veracache;

/**
 * A two-level cache of one namespace: this JVM's L1 (Caffeine) over a shared L2 (Redis), with fenced fills. The
 * strategies ({@link CacheAside}, {@link ReadThroughCache}, {@link WriteThroughCache}) are thin policies over it.
 * Obtain one from {@link Veracache#cache(CacheOptions)}. Thread-safe.
 *
 * <p>What it guarantees (the invariants are stated in {@code DefaultTieredCache}):
 * <ul>
 *   <li>A fill computed from a read that an invalidation overtook is refused (its lease was cancelled), and a
 *       versioned fill or set older than the value or tombstone in Redis is refused.</li>
 *   <li>Concurrent misses of one key, in any number of JVMs, run one load; the others wait at most
 *       {@code leaseWaitTimeout} and then load without filling.</li>
 *   <li>Any change of a key in Redis, by anyone, drops it from every instance's L1.</li>
 *   <li>If Redis is down or slow, reads go to the loader; nothing waits on Redis while the breaker is open.</li>
 * </ul>
 */
public interface TieredCache<K, V> {

  String namespace();

  /**
   * The cached value, or the loader's. A loader returning {@code null} means "not found": cached as such (negative
   * caching) and returned as {@code null}.
   *
   * @throws NullPointerException if {@code key} or {@code loader} is null
   * @throws CacheLoaderException if the loader threw; nothing is cached
   */
  V get(K key, CacheLoader<? super K, ? extends V> loader);

  /**
   * Drops the key from L2 and every L1, cancels outstanding fill leases, and keeps the newest version seen as a
   * tombstone. Call it after the database transaction committed. If Redis does not take it, it is retried until it
   * does (and reads of the key bypass Redis meanwhile).
   */
  void invalidate(K key);

  /**
   * Like {@link #invalidate(Object)}, for a change that produced row version {@code version}: a value at least that
   * new is left in place, and fills older than {@code version} are refused for {@code tombstoneTtl}.
   */
  void invalidate(K key, long version);

  /**
   * Versioned set: stores {@code value} unless Redis holds a newer version or tombstone. Requires
   * {@link CacheOptions.Builder#version}. If Redis does not take it, the key is invalidated instead.
   *
   * @return true if the value is now cached in L2 (stored, or that version already there)
   */
  boolean put(K key, V value);
}
