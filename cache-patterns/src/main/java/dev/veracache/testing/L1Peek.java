package dev.veracache.testing;

import dev.veracache.TieredCache;
import dev.veracache.Veracache;
import java.util.Objects;

/**
 * <b>An unsupported test seam: for tests and diagnostic tools only, not for application code; it may change or go in
 * any release.</b> what one JVM's L1 holds for a key, looked at
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

    private static final Entry<Object> ABSENT = new Entry<>(false, null);

    /** L1 holds nothing for the key. */
    @SuppressWarnings("unchecked")
    public static <V> Entry<V> absent() {
      return (Entry<V>) ABSENT;
    }

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

  /**
   * Implemented by the caches {@link Veracache} makes, so that {@link #peek} can reach their L1. Not for application
   * code: call {@link #peek}.
   */
  public interface Peekable<K, V> {
    Entry<V> peekL1(K key);
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
    Objects.requireNonNull(cache, "cache must not be null");
    if (!(cache instanceof Peekable<?, ?> peekable)) {
      throw new IllegalArgumentException("L1Peek: " + cache.getClass().getName() + " (namespace "
          + cache.namespace() + ") is not a cache made by Veracache; its L1 cannot be looked at");
    }
    return ((Peekable<K, V>) peekable).peekL1(key);
  }
}
