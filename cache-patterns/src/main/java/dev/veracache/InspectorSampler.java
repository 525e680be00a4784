package dev.veracache;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consistency inspector's work for one cache ({@link ConsistencyInspector} states what it measures). The read path
 * calls {@link #onHit} after an L1 or L2 hit; everything else runs on the inspector's thread.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>{@link #onHit} is cheap and never blocks</b>: one thread-local random number against a precomputed
 *       threshold; only a sampled hit goes further ({@link #inspect}, kept out of line).</li>
 *   <li><b>One comparison rule for both checks</b> ({@link #older}): a versioned cache compares versions (a served
 *       version below the database's is older; "not found" against a row, or a row against "not found", differs); an
 *       unversioned cache compares the codec's bytes. A cache ahead of the database (a higher version) is not
 *       stale.</li>
 *   <li><b>The re-check reads what the cache serves now without loading</b>: L1 quietly ({@link L1Store#peek}), else
 *       one Redis GET ({@link RedisEntries#read}); a cache that now holds nothing is not stale (the next read loads).
 *       No lease, fill, L1 write or read metric comes from the inspector.</li>
 *   <li><b>Every inspection that took an in-flight slot gives it back exactly once</b>, whatever fails.</li>
 * </ul>
 */
final class InspectorSampler<K, V> {

  private static final Logger log = LoggerFactory.getLogger(ConsistencyInspector.class);
  private static final long UNIT = 1L << 53; // random numbers are drawn in [0, 2^53)

  /** What the cache or the database answered, reduced to what is compared. */
  private record Seen(boolean present, long version, byte[] bytes) {
    static final Seen ABSENT = new Seen(false, -1, null);

    String describe() {
      if (!present) {
        return "absent";
      }
      return version >= 0 ? Long.toString(version) : "none (" + bytes.length + " bytes)";
    }
  }

  private final ConsistencyInspector inspector;
  private final ConsistencyInspector.Meters meters;
  private final CacheOptions<K, V> options;
  private final L1Store l1; // null when L1 is off
  private final RedisEntries<V> entries;
  private final String prefix;
  private final long threshold;

  InspectorSampler(ConsistencyInspector inspector, ConsistencyInspector.Meters meters, CacheOptions<K, V> options,
      L1Store l1, RedisEntries<V> entries) {
    this.inspector = inspector;
    this.meters = meters;
    this.options = options;
    this.l1 = l1;
    this.entries = entries;
    this.prefix = options.namespace + ":" + options.keyPrefix;
    double rate = inspector.sampleRate();
    this.threshold = rate >= 1 ? UNIT : (long) (rate * UNIT);
  }

  /**
   * On the read path, after a hit: {@code served} is the value served, {@code null} or {@link L1Store#NOT_FOUND} for
   * "not found"; {@code local} the encoded key.
   */
  void onHit(K key, String local, Object served, CacheLoader<? super K, ? extends V> loader) {
    if ((ThreadLocalRandom.current().nextLong() >>> 11) < threshold) {
      inspect(key, local, served, loader);
    }
  }

  @SuppressWarnings("unchecked")
  private void inspect(K key, String local, Object served, CacheLoader<? super K, ? extends V> loader) {
    if (!inspector.tryBegin(meters)) {
      return;
    }
    V value = served == L1Store.NOT_FOUND ? null : (V) served;
    if (!inspector.schedule(() -> firstCheck(key, local, value, loader), 0)) {
      inspector.end(); // the client is closing
    }
  }

  private void firstCheck(K key, String local, V served, CacheLoader<? super K, ? extends V> loader) {
    String redisKey = prefix + local;
    boolean handedOver = false;
    try {
      long checkedAt = System.nanoTime();
      V database = loader.load(key);
      Seen seenServed = seen(served);
      Seen seenDatabase = seen(database);
      if (older(seenServed, seenDatabase)) {
        inspector.countMismatched(meters);
        log.debug("cache '{}': inspector: '{}' served version {}, database version {}; checking again in {}",
            options.namespace, redisKey, seenServed.describe(), seenDatabase.describe(), inspector.options().window);
        handedOver = inspector.schedule(() -> recheck(key, redisKey, local, loader, checkedAt),
            inspector.windowNanos());
      }
    } catch (Exception | LinkageError e) {
      failed(redisKey, "first check", e);
    } finally {
      if (!handedOver) {
        inspector.end();
      }
    }
  }

  private void recheck(K key, String redisKey, String local, CacheLoader<? super K, ? extends V> loader,
      long firstCheckedAt) {
    try {
      inspector.beforeRecheck.accept(redisKey);
      V database = loader.load(key);
      Object now = servedNow(redisKey, local);
      if (now == null) {
        return; // nothing cached: the next read loads the row
      }
      Seen seenNow = seen(now == L1Store.NOT_FOUND ? null : cast(now));
      Seen seenDatabase = seen(database);
      if (older(seenNow, seenDatabase)) {
        long staleFor = System.nanoTime() - firstCheckedAt;
        inspector.countStale(meters, staleFor);
        log.warn("cache '{}': inspector: stale read of '{}': served version {}, database version {}, still stale "
            + "{} ms after it was first seen stale (window {})", options.namespace, redisKey, seenNow.describe(),
            seenDatabase.describe(), staleFor / 1_000_000, inspector.options().window);
      }
    } catch (Exception | LinkageError e) {
      failed(redisKey, "re-check", e);
    } finally {
      inspector.end();
    }
  }

  /** What the cache serves now without loading: the L1 entry, else the L2 answer; null when it holds nothing. */
  private Object servedNow(String redisKey, String local) {
    if (l1 != null) {
      Object entry = l1.peek(local);
      if (entry != null) {
        return entry;
      }
    }
    Lookup<V> found = entries.read(redisKey);
    if (found instanceof Lookup.Hit<V> hit) {
      return hit.value() == null ? L1Store.NOT_FOUND : hit.value();
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private V cast(Object value) {
    return (V) value;
  }

  private Seen seen(V value) throws Exception {
    if (value == null) {
      return Seen.ABSENT;
    }
    if (options.versionOf != null) {
      return new Seen(true, entries.versionOf(value), null);
    }
    byte[] bytes = options.codec.encode(value);
    if (bytes == null) {
      throw new IllegalStateException("the codec encoded a value as null");
    }
    return new Seen(true, -1, bytes);
  }

  /** Whether the cache's answer is older than (unversioned: differs from) the database's. */
  private boolean older(Seen cache, Seen database) {
    if (cache.present != database.present) {
      return true;
    }
    if (!cache.present) {
      return false;
    }
    if (options.versionOf != null) {
      return cache.version < database.version;
    }
    return !Arrays.equals(cache.bytes, database.bytes);
  }

  private void failed(String redisKey, String step, Throwable e) {
    inspector.countError(meters);
    log.debug("cache '{}': inspector: {} of '{}' failed: {}", options.namespace, step, redisKey, e.toString());
  }
}
