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
   * @throws IllegalArgumentException if the encoded key begins with the {@code keyPrefix} of a sibling key shape of
   *     the namespace (it would be that shape's Redis key)
   * @throws VeracacheException if the thread was interrupted while waiting for another instance's fill (its interrupt
   *     flag is set again)
   */
  V get(K key, CacheLoader<? super K, ? extends V> loader);

  /**
   * The first half of a read split in two calls (see {@link SplitRead}): the answer from L1 or Redis, or, on a miss, the
   * key's fill lease for the caller, who loads the row and then calls {@link SplitRead#fill} (or
   * {@link SplitRead#abandon}). For frameworks that look up and store separately; otherwise use {@link #get}.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException as {@link #get}
   */
  SplitRead<V> beginRead(K key);

  /**
   * Drops the key from L2 and every L1, cancels outstanding fill leases, and keeps the newest version seen as a
   * tombstone. Call it after the database transaction committed. If Redis does not take it, it is retried until it
   * does (and reads of the key bypass Redis and L1 meanwhile). A read in this JVM that starts after it returned never
   * gets an answer loaded before it.
   */
  void invalidate(K key);

  /**
   * Like {@link #invalidate(Object)}, for an insert or update that produced row version {@code version}: a value at
   * least that new is left in place; fills and sets older than {@code version}, and "not found" fills (the row
   * exists), are refused for {@code tombstoneTtl}.
   */
  void invalidate(K key, long version);

  /**
   * Like {@link #invalidate(Object)}, for a row that was deleted at version {@code deletedVersion} (its last version):
   * every fill or set at or below that version is refused for {@code tombstoneTtl}, so a write-through set that
   * stalled before the delete cannot bring the row back (R13). A re-inserted row must carry a higher version to be
   * cached in that time.
   */
  void invalidateDeleted(K key, long deletedVersion);

  /**
   * Drops every key of this cache (its namespace and key prefix) from L2 and every L1, and cancels every fill lease,
   * in every JVM: Redis deletes the keys one {@code SCAN} page at a time, each deletion pushed to every client's L1 by
   * tracking. Floors go with the records, so a versioned set after it caches nothing until a read fills the key again
   * (as after any lost record, R14). Not atomic: a key filled while the scan runs, by a read that began after this
   * call, may stay (its read is not older than the call). Do not use it on a write-behind cache's namespace: writes
   * still waiting for their flush would be dropped, and reads would see the database's older row until the flush.
   *
   * If Redis does not take it, it is retried in the background until it does, and reads of the cache in this JVM
   * bypass Redis and L1 meanwhile (as for {@link #invalidate}).
   */
  void invalidateAll();

  /**
   * Versioned set: stores {@code value} only if Redis holds a version or tombstone that proves it is not older: a
   * cached value, "not found" or tombstone whose version is at most {@code value}'s. On an empty key (never cached, or
   * its tombstone evicted, expired or flushed) nothing proves that, so the value is not cached; a tombstone at its
   * version is left and the next read loads the row (R14). Requires {@link CacheOptions.Builder#version}. If Redis
   * does not take it, the key is invalidated instead.
   *
   * @return true if the value is now cached in L2 (stored, or that version already there)
   */
  boolean put(K key, V value);
}
