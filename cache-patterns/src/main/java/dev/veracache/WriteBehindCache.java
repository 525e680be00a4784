package dev.veracache;

import static dev.veracache.Preconditions.notNull;

import dev.veracache.internal.L2Failure;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Write-behind on a durable log: a write returns once Kafka holds it and the cache serves it; a
 * {@link WriteBehindFlusher} applies it to the database later, in batches. Reads are read-through.
 *
 * <p>Each write, in this order:
 * <ol>
 *   <li><b>reserve</b>: Redis gives the key its next version (Redis's clock in microseconds, or one above the key's
 *       floor and its last reserved version) and, unless a value or "not found" is cached (maybe an earlier write
 *       still pending: it stays served), fences the key at it: a fill of the database's older row is refused from
 *       here on;</li>
 *   <li><b>log</b>: the write goes to the topic keyed by the cache key ({@code acks=all}, idempotent producer) with
 *       its version, and the put waits for the acknowledgement;</li>
 *   <li><b>cache</b>: the value (or, for a delete, "not found") is stored at its version, fenced like a write-through
 *       set: an older write that lands later is refused.</li>
 * </ol>
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Nothing is acknowledged that the log does not hold</b> (R8): a put returns only after Kafka acknowledged
 *       the record; if the log does not take it the put throws {@link WriteBehindException}, and the key keeps what it
 *       held (an earlier pending value) or stays fenced at the reserved version (readers go to the database).</li>
 *   <li><b>The cache never serves a value the log does not hold</b>: the value is cached only after the log took
 *       it; a JVM killed in between leaves the fence (or the earlier value), not the new value.</li>
 *   <li><b>Per-key order is the version order</b>: versions grow per key across clients (a hybrid clock in Redis), the
 *       flusher keeps the highest version of a key and the database applies a version only above the row's, so a
 *       replay, a duplicate or two writers' records arriving out of order change nothing.</li>
 *   <li><b>Read your writes</b>: from the reserve until the flush, a fill of the older database row is refused by
 *       the version fence; the flush's own invalidation (and its CDC event) carries the flushed version, which keeps
 *       a newer pending value cached.</li>
 * </ul>
 */
public final class WriteBehindCache<K, V> implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WriteBehindCache.class);

  private static final int CACHE_STEP_THREADS = 2;

  private final DefaultTieredCache<K, V> cache;
  private final CacheLoader<K, V> loader;
  private final WriteBehindOptions<K, V> options;
  private final WriteBehindMetrics metrics;
  private final KafkaProducer<String, byte[]> producer;
  /** Where the cache step of putAsync runs: never on the producer's I/O thread (a put runs it on its caller's). */
  private final ExecutorService cacheSteps;
  private final long fenceTtlMillis;
  private final long pendingTtlMillis;
  private final String name;

  WriteBehindCache(DefaultTieredCache<K, V> cache, CacheLoader<K, V> loader, WriteBehindOptions<K, V> options,
      WriteBehindMetrics metrics) {
    this.cache = cache;
    this.loader = loader;
    this.options = options;
    this.metrics = metrics;
    this.name = "cache '" + options.cache.namespace + "'";
    // The fence must outlive the longest wait for the log, so that a write the log takes at the last moment is
    // still fenced when its value is cached.
    this.fenceTtlMillis = Math.max(options.cache.tombstoneTtl.toMillis(), 2 * options.sendTimeout.toMillis());
    this.pendingTtlMillis = options.pendingTtl.toMillis();
    KafkaClients.checkTopics(options.logSettings(), java.util.List.of(options.topic));
    this.producer = new KafkaProducer<>(KafkaClients.producer(options.logSettings()), new StringSerializer(),
        new ByteArraySerializer());
    this.cacheSteps = Executors.newFixedThreadPool(CACHE_STEP_THREADS, r -> {
      Thread t = new Thread(r, "veracache-writebehind-" + options.cache.namespace);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * The cached value, or the loader's (null = not found); a write not flushed yet is served from the cache.
   *
   * @throws CacheLoaderException if the loader threw
   */
  public V get(K key) {
    return cache.get(key, loader);
  }

  /**
   * Logs and caches {@code value}; returns once Kafka acknowledged it and the cache serves it.
   *
   * @return the version the write got (the database row will store it)
   * @throws WriteBehindException if Redis could not reserve a version or the log did not take the write in
   *     {@code sendTimeout}; nothing was acknowledged
   * @throws IllegalArgumentException if the codec cannot encode the value (naming the cache and the key)
   */
  public long put(K key, V value) {
    notNull(key, "key");
    notNull(value, "value");
    String local = cache.localKey(key);
    byte[] payload = encode(local, value);
    long version = await(log(local, payload, LogEntry.Operation.PUT), key);
    cacheLogged(local, value, version, payload, LogEntry.Operation.PUT);
    return version;
  }

  /**
   * {@link #put} without waiting: the future completes with the version once the log acknowledged the write and the
   * cache holds it, or exceptionally with a {@link WriteBehindException}. The reserve (one Redis call) runs on the
   * caller's thread; a key's writes started from one thread are logged in that order.
   */
  public CompletableFuture<Long> putAsync(K key, V value) {
    notNull(key, "key");
    notNull(value, "value");
    String local = cache.localKey(key);
    byte[] payload = encode(local, value);
    return log(local, payload, LogEntry.Operation.PUT).thenApplyAsync(
        version -> cacheLogged(local, value, version, payload, LogEntry.Operation.PUT), this::runCacheStep);
  }

  /**
   * Logs a delete and caches "not found"; returns once Kafka acknowledged it.
   *
   * @return the version of the delete
   * @throws WriteBehindException as {@link #put}
   */
  public long delete(K key) {
    notNull(key, "key");
    String local = cache.localKey(key);
    long version = await(log(local, null, LogEntry.Operation.DELETE), key);
    return cacheLogged(local, null, version, null, LogEntry.Operation.DELETE);
  }

  /** {@link #delete} without waiting; see {@link #putAsync}. */
  public CompletableFuture<Long> deleteAsync(K key) {
    notNull(key, "key");
    String local = cache.localKey(key);
    return log(local, null, LogEntry.Operation.DELETE).thenApplyAsync(
        version -> cacheLogged(local, null, version, null, LogEntry.Operation.DELETE), this::runCacheStep);
  }

  /** Steps 1 and 2: reserves the version and logs the write; completes with the version once Kafka acknowledged. */
  private CompletableFuture<Long> log(String local, byte[] payload, LogEntry.Operation operation) {
    long version;
    try {
      version = cache.reserveVersion(local, fenceTtlMillis);
    } catch (L2Failure e) {
      metrics.noVersion.increment();
      return CompletableFuture.failedFuture(new WriteBehindException(name + ": write of key '" + local
          + "' not logged: Redis could not give it a version (" + e.getMessage() + "); nothing was acknowledged", e));
    }
    LogEntry entry = new LogEntry(options.cache.namespace, local, operation, version, payload);
    CompletableFuture<Long> logged = new CompletableFuture<>();
    try {
      var unused = producer.send(new ProducerRecord<>(options.topic, null, local, payload, entry.headers()), (meta, error) -> {
        if (error == null) {
          logged.complete(version);
          return;
        }
        metrics.notLogged.increment();
        log.warn("{}: write of key '{}' version {} not logged by Kafka at {}: {}; nothing was acknowledged (the key "
            + "keeps an earlier pending value, or stays fenced and reads go to the database)", name, local, version,
            options.bootstrapServers, error.toString());
        logged.completeExceptionally(notLogged(local, version, error));
      });
    } catch (RuntimeException e) { // a closed producer, metadata not available within max.block.ms
      metrics.notLogged.increment();
      return CompletableFuture.failedFuture(notLogged(local, version, e));
    }
    return logged;
  }

  private WriteBehindException notLogged(String local, long version, Throwable cause) {
    return new WriteBehindException(name + ": write of key '" + local + "' version " + version
        + " not logged by Kafka at " + options.bootstrapServers + ": " + cause, cause);
  }

  /** Runs a cache step on the pool; after {@link #close} on the calling thread (a logged write must not fail). */
  private void runCacheStep(Runnable step) {
    try {
      cacheSteps.execute(step);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      step.run();
    }
  }

  /** Step 3: the log holds the write; cache it at its version. */
  private long cacheLogged(String local, V value, long version, byte[] payload, LogEntry.Operation operation) {
    try {
      // Failures are handled inside: a set Redis does not take becomes a (retried) invalidation at this version.
      cache.storeLogged(local, value, version, payload, pendingTtlMillis);
    } catch (RuntimeException e) {
      metrics.loggedNotCached.increment();
      log.warn("{}: write of key '{}' version {} is logged but not cached ({}); it reaches "
          + "the database with its flush", name, local,
          version, e.toString());
    }
    (operation == LogEntry.Operation.PUT ? metrics.ackedPuts : metrics.ackedDeletes).increment();
    return version;
  }

  private byte[] encode(String local, V value) {
    byte[] payload;
    try {
      payload = options.cache.codec.encode(value);
    } catch (Exception e) {
      throw new IllegalArgumentException(name + ": the value for key '" + local + "' cannot be encoded by the codec: "
          + e, e);
    }
    if (payload == null) {
      throw new IllegalArgumentException(name + ": the codec encoded the value for key '" + local + "' as null");
    }
    if (payload.length > options.cache.maxValueBytes) {
      throw new IllegalArgumentException(name + ": the value for key '" + local + "' is " + payload.length
          + " bytes, above maxValueBytes (" + options.cache.maxValueBytes + ")");
    }
    return payload;
  }

  private long await(CompletableFuture<Long> future, K key) {
    long waitMillis = options.sendTimeout.toMillis() + Duration.ofSeconds(5).toMillis();
    try {
      return future.get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new WriteBehindException(name + ": write of key '" + key + "' failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new WriteBehindException(name + ": write of key '" + key + "' not acknowledged within "
          + Duration.ofMillis(waitMillis), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WriteBehindException(name + ": interrupted while writing key '" + key + "'", e);
    }
  }

  public TieredCache<K, V> tiered() {
    return cache;
  }

  /** Waits for the writes in flight (up to the send timeout), then closes the producer. */
  @Override
  public void close() {
    producer.close(options.sendTimeout);
    cacheSteps.shutdown();
    try {
      if (!cacheSteps.awaitTermination(options.sendTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("{}: cache steps still running at close", name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
