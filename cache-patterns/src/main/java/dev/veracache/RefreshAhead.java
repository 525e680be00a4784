package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisRecord;
import dev.veracache.testing.CacheHooks;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refresh-ahead of one cache ({@link CacheOptions.Builder#refreshAfterWrite}): an L2 hit of a value older than
 * {@code refreshAfterWrite} is served at once and triggers one background reload of the key, which renews the entry so
 * that a hot key does not miss when its TTL runs out.
 *
 * <p>The age is Redis's: the read sends GET and PTTL back to back (one round trip) and takes {@code ttl - PTTL}. A
 * value's TTL was drawn from {@code ttl * (1 +/- ttlJitter)}, so the age is approximate by up to {@code ttlJitter * ttl};
 * it is refreshed when its remaining life falls below {@code ttl - refreshAfterWrite}, which always comes before it
 * expires. Caches without refresh keep the plain GET; the L1 hit path does not look at ages at all.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The reader never waits for a refresh.</b> The claim, the load and the renewal run on the client's refresh
 *       threads ({@link Threads}: few, daemon, named, a bounded queue). A full queue drops the refresh, counted
 *       ({@code dropped}) and logged; a later read of the key tries again.</li>
 *   <li><b>One refresh per key.</b> In this JVM at most one per key is queued or running ({@code inFlight}); across
 *       clients the first to {@code SET veracache:refresh:<key> NX PX leaseTtl} refreshes, the others count
 *       {@code claimed_elsewhere}. The claim lies outside every namespace (no tracking push) and is never deleted: it
 *       expires, so a refresh that failed is tried again after {@code leaseTtl} at the latest.</li>
 *   <li><b>A refresh renews by proof, never by a blind overwrite</b>, and never stores the loaded value unfenced. The
 *       loaded record equal to the one read: a new lifetime, only if the key still holds exactly those bytes
 *       ({@code extend.lua}). A newer version: the versioned set ({@link CacheWrites#put}, {@code put.lua}). An older
 *       version (a lagging replica): nothing. Anything else (another value at the same or no version, "not found", a
 *       value that cannot be encoded): the key is invalidated unversioned ({@link CacheWrites#invalidate}, retried if
 *       Redis refuses), so the next read loads it under a lease.</li>
 *   <li><b>An invalidation that lands between the refresh's read and its renewal wins</b>: {@code extend.lua} finds
 *       another record (or none) and does nothing; {@code put.lua} meets the invalidation's floor. Nothing that was
 *       invalidated comes back.</li>
 *   <li><b>A failure leaves nothing behind</b>: a loader, a hook or Redis that fails is counted ({@code failed}) and
 *       logged at DEBUG; the in-flight mark is removed, the claim expires by itself.</li>
 *   <li>Only a value read from Redis triggers a refresh; a cached "not found" (its own {@code negativeTtl}) does not.
 *       </li>
 * </ul>
 */
final class RefreshAhead<K, V> {

  private static final Logger log = LoggerFactory.getLogger(RefreshAhead.class);

  /** The refresh threads of one client, shared by its caches with refresh on; created with the first such cache. */
  static final class Threads implements AutoCloseable {
    /** Refreshes running at once. */
    static final int THREADS = 2;
    /** Refreshes waiting for a thread; past it a refresh is dropped (counted) and a later read tries again. */
    static final int QUEUE_CAPACITY = 256;

    final ThreadPoolExecutor executor;
    final MeterRegistry registry;
    final String clientName;

    Threads(MeterRegistry registry, String clientName) {
      this.registry = registry;
      this.clientName = clientName;
      AtomicInteger n = new AtomicInteger();
      this.executor = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS,
          new ArrayBlockingQueue<>(QUEUE_CAPACITY), r -> {
            Thread t = new Thread(r, "veracache-refresh-" + clientName + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
          }, new ThreadPoolExecutor.AbortPolicy());
      executor.allowCoreThreadTimeOut(true);
    }

    @Override
    public void close() {
      executor.shutdownNow();
    }
  }

  private final CacheOptions<K, V> options;
  private final FenceProtocol fence;
  private final RedisEntries<V> entries;
  private final Misses<K, V> misses;
  private final CacheWrites<K, V> writes;
  private final Threads threads;
  private final CacheHooks hooks;
  private final long ttlMillis;
  private final long refreshAfterMillis;
  private final long claimTtlMillis;
  /** Redis keys with a refresh queued or running in this JVM. */
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

  private final Counter extended;
  private final Counter replaced;
  private final Counter invalidated;
  private final Counter olderLoad;
  private final Counter superseded;
  private final Counter claimedElsewhere;
  private final Counter dropped;
  private final Counter failed;

  RefreshAhead(CacheOptions<K, V> options, FenceProtocol fence, RedisEntries<V> entries, Misses<K, V> misses,
      CacheWrites<K, V> writes, Threads threads) {
    this.options = options;
    this.fence = fence;
    this.entries = entries;
    this.misses = misses;
    this.writes = writes;
    this.threads = threads;
    this.hooks = options.hooks;
    this.ttlMillis = options.ttl.toMillis();
    this.refreshAfterMillis = options.refreshAfterWrite.toMillis();
    this.claimTtlMillis = options.leaseTtl.toMillis();
    extended = counter("extended");
    replaced = counter("replaced");
    invalidated = counter("invalidated");
    olderLoad = counter("older_load");
    superseded = counter("superseded");
    claimedElsewhere = counter("claimed_elsewhere");
    dropped = counter("dropped");
    failed = counter("failed");
  }

  private Counter counter(String result) {
    // Micrometer hands back the meter already registered under this id: the key shapes of a namespace share them.
    return Counter.builder("veracache.refreshes").description("Refresh-ahead reloads, by what they did")
        .tag("client", threads.clientName).tag("cache", options.namespace).tag("result", result)
        .register(threads.registry);
  }

  /**
   * The L2 read of a cache with refresh on: what {@link RedisEntries#read} answers, and, when it is a value older than
   * {@code refreshAfterWrite}, a refresh queued for it.
   *
   * @throws L2Failure if Redis did not answer
   */
  Lookup<V> read(K key, String local, String redisKey, CacheLoader<? super K, ? extends V> loader) {
    RedisEntries.Aged<V> aged = entries.readAged(redisKey);
    byte[] record = aged.record();
    if (aged.lookup() instanceof Lookup.Hit && record[0] == 'V' && aged.pttlMillis() >= 0
        && ttlMillis - aged.pttlMillis() >= refreshAfterMillis) {
      schedule(key, local, redisKey, record, loader);
    }
    return aged.lookup();
  }

  private void schedule(K key, String local, String redisKey, byte[] read,
      CacheLoader<? super K, ? extends V> loader) {
    if (!inFlight.add(redisKey)) {
      return; // one refresh of this key is already queued or running here
    }
    try {
      threads.executor.execute(() -> refresh(key, local, redisKey, read, loader));
    } catch (RejectedExecutionException e) {
      inFlight.remove(redisKey);
      dropped.increment();
      log.debug("cache '{}': refresh of '{}' dropped: the refresh queue is full ({} waiting) or the client is closed",
          options.namespace, redisKey, threads.executor.getQueue().size());
    }
  }

  private void refresh(K key, String local, String redisKey, byte[] read,
      CacheLoader<? super K, ? extends V> loader) {
    try {
      if (!fence.claimRefresh(redisKey, claimTtlMillis)) {
        claimedElsewhere.increment();
        return;
      }
      V loaded = misses.load(key, redisKey, loader);
      hooks.afterRefreshLoad(redisKey);
      renew(local, redisKey, read, loaded).increment();
    } catch (L2Failure e) {
      failed.increment();
      log.debug("cache '{}': refresh of '{}' not done, Redis did not answer: {}", options.namespace, redisKey,
          e.getMessage());
    } catch (RuntimeException e) {
      failed.increment();
      log.debug("cache '{}': refresh of '{}' not done: {}", options.namespace, redisKey, e.toString());
    } finally {
      inFlight.remove(redisKey);
    }
  }

  /** Renews the entry by what the load proves; returns the counter of what it did. */
  private Counter renew(String local, String redisKey, byte[] read, V loaded) {
    if (loaded == null) {
      return invalidate(local, redisKey, "the loader found nothing");
    }
    long version = entries.versionOrFailed(redisKey, loaded);
    byte[] record = version == RedisEntries.VERSION_FAILED ? null : entries.encodeOrNull(redisKey, loaded, version);
    if (record == null) {
      return invalidate(local, redisKey, "the loaded value cannot be cached");
    }
    if (Arrays.equals(record, read)) {
      if (!fence.extendIfUnchanged(redisKey, read, misses.valueTtlMillis())) {
        return superseded;
      }
      writes.afterOwnWrite(local, redisKey); // the new lifetime is pushed back to this client too: keep it in L1
      return extended;
    }
    if (options.versionOf != null) {
      long cached = RedisRecord.parse(read).version;
      if (version > cached) {
        return writes.put(local, redisKey, loaded) ? replaced : superseded;
      }
      if (version < cached) {
        log.debug("cache '{}': refresh of '{}' loaded version {}, older than the cached {} (a lagging replica?); "
            + "nothing done", options.namespace, redisKey, version, cached);
        return olderLoad;
      }
    }
    return invalidate(local, redisKey, "the loaded value differs from the cached one (unversioned, or at the same version)");
  }

  private Counter invalidate(String local, String redisKey, String why) {
    log.debug("cache '{}': refresh of '{}' invalidates it: {}", options.namespace, redisKey, why);
    writes.invalidate(local, redisKey, Invalidation.unversioned());
    return invalidated;
  }
}
