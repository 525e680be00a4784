package dev.veracache;

/**
 * <b>For tests and diagnostic tools only, not for application code:</b> what one JVM's L1 holds for a key, looked at
 * directly. An application reads through {@link TieredCache#get}; this exists so that a checker can compare every
 * level with the database on its own (the chaos module's end-of-run comparison), which {@code get} cannot do: a miss
 * in L1 goes on to Redis and the loader, and an L1 entry that {@code get} would not serve right now (while
 * invalidations may be missed, or the CDC listener is behind) is skipped rather than shown.
 *
 * <p>Invariants: a peek never loads, never asks Redis, never counts a hit or a miss, never changes the entry's
 * eviction order or drops it; it shows the unexpired entry as stored, whether or not {@code get} would serve it now.
 */
public final class L1Peek {

  /**
   * One L1 entry: {@code present} false when L1 holds nothing for the key (or the cache has no L1); otherwise
   * {@code value}, which is null for a cached "not found".
   */
  public record Entry<V>(boolean present, V value) {

    static final Entry<Object> ABSENT = new Entry<>(false, null);

    public Entry {
      if (!present && value != null) {
        throw new IllegalArgumentException("an absent L1 entry has no value, was given " + value);
      }
    }

    /** Whether L1 holds a cached "not found" for the key. */
    public boolean notFound() {
      return present && value == null;
    }
  }

  private L1Peek() {}

  /**
   * What {@code cache}'s L1, in this JVM, holds for {@code key}.
   *
   * @throws NullPointerException if {@code cache} or {@code key} is null
   * @throws IllegalArgumentException if {@code cache} was not made by {@link Veracache} (a wrapper or another
   *     implementation of {@link TieredCache}): its L1 cannot be seen from here
   */
  @SuppressWarnings("unchecked")
  public static <K, V> Entry<V> peek(TieredCache<K, V> cache, K key) {
    Preconditions.notNull(cache, "cache");
    if (!(cache instanceof DefaultTieredCache<K, V> tiered)) {
      throw new IllegalArgumentException("L1Peek: " + cache.getClass().getName() + " (namespace "
          + cache.namespace() + ") is not a cache made by Veracache; its L1 cannot be looked at");
    }
    Object entry = tiered.peekL1(key);
    if (entry == null) {
      return (Entry<V>) Entry.ABSENT;
    }
    return new Entry<>(true, entry == L1Store.NOT_FOUND ? null : (V) entry);
  }
}
