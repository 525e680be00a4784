package dev.veracache;

/**
 * For this module's tests only: looks at an instance's L1 without loading, through cache-patterns' package-private
 * test accessors ({@code DefaultTieredCache.inL1}, {@code Veracache.awaitPushesSoFar}). It lives in the test sources
 * under the library's package so the library's public API does not grow for tests.
 */
public final class L1Probe {

  private L1Probe() {}

  /** Whether this instance's L1 holds the key (a value or a cached "not found"); loads nothing, asks no one. */
  public static <K> boolean inL1(CacheAside<K, ?> cache, K key) {
    return ((DefaultTieredCache<K, ?>) cache.tiered()).inL1(key);
  }

  /** Returns once every invalidation push Redis sent this instance so far has been applied to its L1. */
  public static void awaitPushesSoFar(Veracache instance) {
    instance.awaitPushesSoFar();
  }
}
