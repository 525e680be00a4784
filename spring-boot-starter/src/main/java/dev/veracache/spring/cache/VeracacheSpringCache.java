package dev.veracache.spring.cache;

import dev.veracache.CacheLoaderException;
import dev.veracache.SplitRead;
import dev.veracache.TieredCache;
import java.util.concurrent.Callable;
import org.springframework.cache.Cache;
import org.springframework.cache.support.SimpleValueWrapper;

/**
 * One Spring {@link Cache} over one Veracache {@link TieredCache}: what each call of Spring's cache abstraction does.
 *
 * <ul>
 *   <li>{@code @Cacheable(sync = true)} ({@link #get(Object, Callable)}): the library's fenced read-through. Concurrent
 *       misses of a key, in this JVM and in others, run the method once; its result fills Redis under the miss's
 *       lease, refused if an invalidation came meanwhile (R1).</li>
 *   <li>{@code @Cacheable} ({@link #get(Object)}, then {@link #put}): a split read. The miss takes the fill lease,
 *       Spring runs the method, and the put fills under that lease, fenced alike. Misses of one key in several
 *       threads or JVMs: one runs the method and fills, the others wait up to {@code lease-wait-timeout} for it (no
 *       single flight inside the method call itself: that is what {@code sync = true} adds).</li>
 *   <li>{@code @CachePut} ({@link #put} without a preceding miss on this thread): a versioned set when the cache has a
 *       {@code version-property} (stored only over a record that proves it is not older); an invalidation otherwise,
 *       since an unversioned value cannot prove it is newest. Either way no older value can win.</li>
 *   <li>{@code @CacheEvict} ({@link #evict}): an invalidation in every JVM, retried until Redis takes it;
 *       {@code allEntries = true} ({@link #clear}): every key of the cache dropped in every JVM.</li>
 *   <li>A method returning {@code null} is cached as "not found" (for {@code negative-ttl}).</li>
 * </ul>
 */
public final class VeracacheSpringCache implements Cache {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(VeracacheSpringCache.class);

  private final String name;
  private final TieredCache<Object, Object> tiered;
  private final boolean versioned;

  VeracacheSpringCache(String name, TieredCache<Object, Object> tiered, boolean versioned) {
    this.name = name;
    this.tiered = tiered;
    this.versioned = versioned;
  }

  @Override
  public String getName() {
    return name;
  }

  /** The library's cache of this Spring cache. */
  @Override
  public TieredCache<Object, Object> getNativeCache() {
    return tiered;
  }

  @Override
  public ValueWrapper get(Object key) {
    OpenReads.abandon(this, key); // an earlier miss of this key on this thread that never put: its lease would block
    SplitRead<Object> read = tiered.beginRead(key);
    if (read.found()) {
      return new SimpleValueWrapper(read.value());
    }
    OpenReads.open(this, key, read);
    return null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(Object key, Class<T> type) {
    OpenReads.abandon(this, key);
    SplitRead<Object> read = tiered.beginRead(key); // a lookup: no put follows it, so a miss keeps no lease
    if (!read.found()) {
      read.abandon();
      return null;
    }
    Object value = read.value();
    if (value != null && type != null && !type.isInstance(value)) {
      throw new IllegalStateException("cache '" + name + "': cached value for key '" + key + "' is a "
          + value.getClass().getName() + ", not a " + type.getName());
    }
    return (T) value;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(Object key, Callable<T> valueLoader) {
    try {
      return (T) tiered.get(key, k -> valueLoader.call());
    } catch (CacheLoaderException e) {
      throw new ValueRetrievalException(key, valueLoader, e.getCause() == null ? e : e.getCause());
    }
  }

  @Override
  public void put(Object key, Object value) {
    SplitRead<Object> miss = OpenReads.take(this, key);
    if (miss != null) {
      miss.fill(value);
    } else if (value != null && versioned) {
      try {
        tiered.put(key, value);
      } catch (IllegalArgumentException | IllegalStateException e) { // its version cannot be read: drop the key
        log.warn("cache '{}': @CachePut of key '{}' stored as an invalidation: {}", name, key, e.getMessage());
        tiered.invalidate(key);
      }
    } else {
      tiered.invalidate(key);
    }
  }

  /**
   * The cached answer if there is one; otherwise {@code value} is stored only if it can prove it is not older than
   * what the cache has seen (a versioned set); on an unversioned cache nothing is stored, since the value was computed
   * before this call and may predate an invalidation (R1).
   */
  @Override
  public ValueWrapper putIfAbsent(Object key, Object value) {
    OpenReads.abandon(this, key);
    SplitRead<Object> read = tiered.beginRead(key);
    if (read.found()) {
      return new SimpleValueWrapper(read.value());
    }
    read.abandon();
    if (value != null && versioned) {
      tiered.put(key, value);
    }
    return null;
  }

  /**
   * For {@code @Cacheable} methods returning a {@code CompletableFuture} ({@code sync = false}): a lookup. The put
   * comes later, from whichever thread completes the future, so a miss keeps no lease: that put is then a versioned
   * set (versioned caches) or an invalidation. Prefer {@code sync = true} for such methods.
   */
  @Override
  public java.util.concurrent.CompletableFuture<?> retrieve(Object key) {
    OpenReads.abandon(this, key);
    SplitRead<Object> read = tiered.beginRead(key);
    if (!read.found()) {
      read.abandon();
      return null;
    }
    return java.util.concurrent.CompletableFuture.completedFuture(new SimpleValueWrapper(read.value()));
  }

  /**
   * For {@code @Cacheable(sync = true)} methods returning a {@code CompletableFuture}: the fenced read-through, on the
   * common pool, the method's future awaited as the loader.
   */
  @Override
  @SuppressWarnings("unchecked")
  public <T> java.util.concurrent.CompletableFuture<T> retrieve(Object key,
      java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> valueLoader) {
    return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return (T) tiered.get(key, k -> valueLoader.get().join());
      } catch (CacheLoaderException e) {
        Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
            ? c.getCause() : e.getCause();
        throw new java.util.concurrent.CompletionException(cause == null ? e : cause);
      }
    });
  }

  @Override
  public void evict(Object key) {
    OpenReads.abandon(this, key);
    tiered.invalidate(key);
  }

  @Override
  public void clear() {
    OpenReads.abandonAll(this);
    tiered.invalidateAll();
  }

  @Override
  public String toString() {
    return "VeracacheSpringCache[" + name + ", namespace " + tiered.namespace() + (versioned ? ", versioned]" : "]");
  }
}
