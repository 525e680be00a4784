package dev.veracache.chaos.fault;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Memory pressure on a real Redis, so that it really evicts keys: race R14 (a tombstone or a fill lease evicted before
 * the stale fill or late set it was meant to refuse arrives). {@link #start} lowers {@code maxmemory} to what Redis uses
 * now plus a small headroom, sets an {@code allkeys} eviction policy, and keeps writing filler keys outside every cache
 * namespace, so that Redis is always at its limit and every new write evicts some key, cache records included. Redis
 * reports each eviction as a keyspace event ({@code __keyevent@<db>__:evicted}); a race injection waits on that
 * ({@link #awaitEvictionAfter}) instead of sleeping and hoping.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Redis is left as it was found.</b> {@link #close()} stops the filler, restores {@code maxmemory},
 *       {@code maxmemory-policy} and {@code notify-keyspace-events} to the values read at start, and removes every
 *       filler key; it is idempotent, and a setting it could not restore is logged and thrown, never dropped.</li>
 *   <li><b>Filler keys live under {@value #FILLER_PREFIX}</b>: outside every cache namespace, so no client tracks or
 *       reads them; they carry no TTL (an allkeys policy is required: a volatile one would run out of keys to evict
 *       and refuse writes instead).</li>
 *   <li><b>Counts are Redis's own.</b> {@link #evictedKeys()} is the growth of {@code INFO stats evicted_keys} since
 *       start; {@link #evictionsOf} counts the eviction events Redis published for a key. Filler keys are not counted
 *       per key.</li>
 *   <li><b>Nothing fails silently.</b> A filler write Redis refused is counted ({@link #fillerFailures()}) and logged
 *       (the first, then every hundredth); the filler backs off and goes on.</li>
 * </ul>
 */
public final class RedisMemoryPressure implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisMemoryPressure.class);
  public static final String FILLER_PREFIX = "chaos-filler:";
  private static final long BATCH_MILLIS = 10;

  /**
   * How hard to press.
   *
   * @param policy {@code allkeys-random}, {@code allkeys-lru} or {@code allkeys-lfu}
   * @param headroomBytes {@code maxmemory} is set to Redis's {@code used_memory} at start plus this: the fewer keys fit,
   *     the sooner a given key is evicted
   * @param fillerValueBytes size of each filler value
   * @param fillerWritesPerSecond filler writes per second once Redis is full: about as many evictions
   */
  public record Spec(String policy, long headroomBytes, int fillerValueBytes, int fillerWritesPerSecond) {
    public Spec {
      Objects.requireNonNull(policy, "policy");
      if (!policy.startsWith("allkeys-")) {
        throw new IllegalArgumentException("eviction policy must be an allkeys policy (filler keys have no TTL), was "
            + policy);
      }
      if (headroomBytes < 64 * 1024) {
        throw new IllegalArgumentException("headroomBytes must be >= 64 KiB (client buffers move used_memory by tens "
            + "of KiB), was " + headroomBytes);
      }
      if (fillerValueBytes < 1 || fillerWritesPerSecond < 100) {
        throw new IllegalArgumentException("fillerValueBytes must be >= 1 and fillerWritesPerSecond >= 100, were "
            + fillerValueBytes + " and " + fillerWritesPerSecond);
      }
    }

    /**
     * The policy, 1 MiB of headroom, 1 KiB filler values, 2,000 filler writes per second: about a thousand keys fit,
     * and two thousand are evicted a second, so a given key lives about half a second (long enough to be read, short
     * enough for a race injection to wait for its eviction).
     */
    public static Spec of(String policy) {
      return of(policy, 1024 * 1024);
    }

    /** The policy and headroom, 1 KiB filler values, 2,000 filler writes per second. */
    public static Spec of(String policy, long headroomBytes) {
      return new Spec(policy, headroomBytes, 1024, 2000);
    }
  }

  private record Settings(String maxmemory, String policy, String keyspaceEvents) {}

  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisCommands<String, String> redis;
  private final StatefulRedisPubSubConnection<String, String> events;
  /** The filler's own connection: its pipelined batches must not queue ahead of a race injection's EXISTS. */
  private final StatefulRedisConnection<String, String> fillerConnection;
  private final Settings original;
  private final long evictedAtStart;
  private final Map<String, long[]> evictions = new ConcurrentHashMap<>();
  private final AtomicLong fillerWrites = new AtomicLong();
  private final AtomicLong fillerFailures = new AtomicLong();
  private final Thread filler;
  private final long limitBytes;
  private volatile boolean running = true;
  private volatile boolean waiting = true;
  private boolean closed;

  private RedisMemoryPressure(String redisUri, Spec spec) {
    RedisURI uri = RedisURI.create(redisUri);
    this.client = RedisClient.create(uri);
    this.connection = client.connect();
    this.redis = connection.sync();
    this.original = new Settings(config("maxmemory"), config("maxmemory-policy"), config("notify-keyspace-events"));
    this.evictedAtStart = info("stats", "evicted_keys");
    this.events = client.connectPubSub();
    this.fillerConnection = client.connect();
    String channel = "__keyevent@" + uri.getDatabase() + "__:evicted";
    events.addListener(new RedisPubSubAdapter<>() {
      @Override
      public void message(String ch, String key) {
        if (channel.equals(ch) && !key.startsWith(FILLER_PREFIX)) {
          long[] count = evictions.computeIfAbsent(key, k -> new long[1]);
          synchronized (count) {
            count[0]++;
            count.notifyAll();
          }
        }
      }
    });
    events.sync().subscribe(channel);
    try {
      redis.configSet("notify-keyspace-events", original.keyspaceEvents() + "Ee");
      redis.configSet("maxmemory-policy", spec.policy());
      this.limitBytes = info("memory", "used_memory") + spec.headroomBytes();
      redis.configSet("maxmemory", Long.toString(limitBytes));
    } catch (RuntimeException e) {
      restoreQuietly();
      closeConnections();
      throw new IllegalStateException("cannot put Redis under memory pressure (CONFIG SET refused?): " + e, e);
    }
    this.filler = new Thread(() -> fill(spec), "chaos-redis-filler");
    filler.setDaemon(true);
    filler.start();
    log.info("Redis under memory pressure: maxmemory {} bytes, policy {}, {} filler writes/s of {} bytes",
        limitBytes, spec.policy(), spec.fillerWritesPerSecond(), spec.fillerValueBytes());
  }

  /** Lowers Redis's memory limit and starts the filler; {@link #close()} undoes both. */
  public static RedisMemoryPressure start(String redisUri, Spec spec) {
    return new RedisMemoryPressure(Objects.requireNonNull(redisUri, "redisUri"), Objects.requireNonNull(spec, "spec"));
  }

  /** Keys Redis evicted since {@link #start} (its own {@code evicted_keys}). */
  public long evictedKeys() {
    return info("stats", "evicted_keys") - evictedAtStart;
  }

  /** Eviction events Redis published for {@code key} since start. */
  public long evictionsOf(String key) {
    long[] count = evictions.computeIfAbsent(key, k -> new long[1]);
    synchronized (count) {
      return count[0];
    }
  }

  /** The key is not in Redis now (evicted, expired, deleted, or never written). */
  public boolean absent(String key) {
    return redis.exists(key) == 0;
  }

  /**
   * Waits until Redis published an eviction of {@code key} beyond {@code seen} (a value of {@link #evictionsOf}), at
   * most {@code timeoutMillis}.
   *
   * @return true if one came, false on timeout, interrupt, or once {@link #releaseWaiters()} was called
   */
  public boolean awaitEvictionAfter(String key, long seen, long timeoutMillis) {
    long[] count = evictions.computeIfAbsent(key, k -> new long[1]);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (count) {
      while (count[0] <= seen) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !waiting) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(count, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  /** Ends every wait of {@link #awaitEvictionAfter} now and later (they return false): the workload stopped. */
  public void releaseWaiters() {
    waiting = false;
    for (long[] count : evictions.values()) {
      synchronized (count) {
        count.notifyAll();
      }
    }
  }

  /** The {@code maxmemory} set at start, in bytes. */
  public long limitBytes() {
    return limitBytes;
  }

  public long fillerWrites() {
    return fillerWrites.get();
  }

  /** Filler writes Redis refused (each logged: the first, then every hundredth). */
  public long fillerFailures() {
    return fillerFailures.get();
  }

  /** Writes new filler keys in small pipelined batches at the spec's rate, until closed. */
  private void fill(Spec spec) {
    String value = "x".repeat(spec.fillerValueBytes());
    int perBatch = (int) Math.max(1, spec.fillerWritesPerSecond() * BATCH_MILLIS / 1000);
    long next = System.nanoTime();
    long n = 0;
    var async = fillerConnection.async();
    while (running) {
      List<RedisFuture<String>> batch = new ArrayList<>(perBatch);
      for (int i = 0; i < perBatch; i++) {
        batch.add(async.set(FILLER_PREFIX + n++, value));
      }
      try {
        if (!LettuceFutures.awaitAll(Duration.ofSeconds(5), batch.toArray(new RedisFuture[0]))) {
          throw new IllegalStateException("filler batch not answered within 5 s");
        }
        for (RedisFuture<String> f : batch) {
          f.get(); // a refused write (OOM) surfaces here
        }
        fillerWrites.addAndGet(perBatch);
      } catch (Exception e) {
        long failures = fillerFailures.incrementAndGet();
        if (failures == 1 || failures % 100 == 0) {
          log.warn("filler write refused by Redis ({} failed batches so far): {}", failures, e.toString());
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
      next += TimeUnit.MILLISECONDS.toNanos(BATCH_MILLIS);
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      } else {
        next = System.nanoTime(); // behind: do not burst to catch up
      }
    }
  }

  private String config(String name) {
    Map<String, String> values = redis.configGet(name);
    String value = values.get(name);
    if (value == null) {
      throw new IllegalStateException("Redis has no configuration parameter '" + name + "'");
    }
    return value;
  }

  private long info(String section, String field) {
    for (String line : redis.info(section).split("\r?\n")) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.substring(field.length() + 1).trim());
      }
    }
    throw new IllegalStateException("Redis INFO " + section + " has no field '" + field + "'");
  }

  /**
   * Stops the filler, restores the settings read at start, deletes the filler keys. Idempotent.
   *
   * @throws IllegalStateException if a setting could not be restored (after trying all of them)
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    running = false;
    releaseWaiters();
    try {
      filler.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    RuntimeException failure = restoreQuietly();
    long deleted = 0;
    try {
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.matches(FILLER_PREFIX + "*").limit(1000));
        if (!page.getKeys().isEmpty()) {
          deleted += redis.unlink(page.getKeys().toArray(String[]::new));
        }
        cursor = page;
      } while (!cursor.isFinished());
    } catch (RuntimeException e) {
      log.warn("could not delete the filler keys ({}*): {}", FILLER_PREFIX, e.toString());
    }
    log.info("Redis memory pressure lifted: {} filler writes ({} refused batches), {} filler keys deleted, settings "
        + "restored to maxmemory {}, policy {}, keyspace events '{}'", fillerWrites.get(), fillerFailures.get(),
        deleted, original.maxmemory(), original.policy(), original.keyspaceEvents());
    closeConnections();
    if (failure != null) {
      throw failure;
    }
  }

  /** Restores every setting it can; returns the first failure (already logged), or null. */
  private RuntimeException restoreQuietly() {
    RuntimeException first = null;
    String[][] settings = {{"maxmemory", original.maxmemory()}, {"maxmemory-policy", original.policy()},
        {"notify-keyspace-events", original.keyspaceEvents()}};
    for (String[] setting : settings) {
      try {
        redis.configSet(setting[0], setting[1]);
      } catch (RuntimeException e) {
        log.error("could not restore Redis {} to '{}': {}", setting[0], setting[1], e.toString());
        if (first == null) {
          first = new IllegalStateException("could not restore Redis " + setting[0] + " to '" + setting[1] + "': "
              + e, e);
        }
      }
    }
    return first;
  }

  private void closeConnections() {
    events.close();
    fillerConnection.close();
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
