package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.RedisLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point: one Redis connection, its invalidation tracking and circuit breaker, shared by every cache created
 * from it. Create one per application (per JVM) and close it on shutdown.
 *
 * <pre>{@code
 * try (Veracache veracache = Veracache.create(VeracacheOptions.builder("redis://localhost:6379").build())) {
 *   CacheAside<Long, Product> products = veracache.cacheAside(
 *       CacheOptions.<Long, Product>builder("product", ValueCodec.json(Product.class))
 *           .version(Product::version).build());
 *   Product p = products.get(42L, id -> productDao.find(id));
 *   // after a committed update:
 *   products.invalidate(42L, updated.version());
 * }
 * }</pre>
 */
public final class Veracache implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Veracache.class);

  private final VeracacheOptions options;
  private final RedisLink link;
  private final FenceProtocol fence;
  private final InvalidationTracker tracker;
  private final PendingInvalidations pending;
  /** One set of meters per namespace, shared by its key shapes (Micrometer keeps the first meter of an id). */
  private final java.util.concurrent.ConcurrentHashMap<String, CacheMetrics> metricsByNamespace =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Veracache(VeracacheOptions options) {
    this.options = options;
    this.link = new RedisLink(options);
    this.fence = new FenceProtocol(link);
    this.tracker = new InvalidationTracker(link, options);
    this.pending = new PendingInvalidations(fence::invalidate, options);
    tracker.onRecovery(pending::retrySoon);
  }

  /** Registers the listeners and schedules the background work, once every part exists. */
  private Veracache start() {
    tracker.start();
    pending.start();
    log.info("Veracache connected to Redis at {}", link.endpoint());
    return this;
  }

  /**
   * Connects to Redis.
   *
   * @throws VeracacheException naming the endpoint if Redis cannot be reached at start
   */
  public static Veracache create(VeracacheOptions options) {
    return new Veracache(notNull(options, "options")).start();
  }

  /**
   * The two-level cache of one namespace, or of one key shape of a namespace ({@link CacheOptions.Builder#keyPrefix}):
   * the strategies below wrap it. One per namespace and key prefix per client; the caches of one namespace share its
   * meters ({@code cache=<namespace>}) and its CDC listener's staleness bound.
   *
   * @throws IllegalArgumentException when this client already has a cache of that namespace and key prefix, or one
   *     whose key prefix overlaps it, or when {@code l1Ttl} exceeds the client's {@code maxL1Ttl}
   */
  public <K, V> TieredCache<K, V> cache(CacheOptions<K, V> cacheOptions) {
    notNull(cacheOptions, "cacheOptions");
    check(cacheOptions.l1Ttl.compareTo(options.maxL1Ttl) <= 0, "cache '" + cacheOptions.namespace + "': l1Ttl ("
        + cacheOptions.l1Ttl + ") exceeds the client's maxL1Ttl (" + options.maxL1Ttl + ")");
    String namespace = cacheOptions.namespace;
    L1Store l1 = cacheOptions.l1Enabled
        ? new L1Store(cacheOptions.l1MaximumSize, cacheOptions.l1Ttl, cacheOptions.negativeTtl, options.ticker,
            () -> tracker.epoch)
        : null;
    SingleFlight<V> flight = new SingleFlight<>();
    KeyShape shape = tracker.register(namespace, cacheOptions.keyPrefix, l1, flight,
        cacheOptions.listenerStalenessBound);
    CacheMetrics metrics = metricsByNamespace.computeIfAbsent(namespace,
        ns -> new CacheMetrics(options.meterRegistry, options.clientName, ns));
    return new DefaultTieredCache<>(cacheOptions, fence, new RedisEntries<>(cacheOptions, link, pending, metrics),
        tracker, pending, l1, flight, shape, metrics);
  }

  /** Cache-aside: the caller passes the loader on each read and invalidates after each committed write. */
  public <K, V> CacheAside<K, V> cacheAside(CacheOptions<K, V> cacheOptions) {
    return new CacheAside<>(cache(cacheOptions));
  }

  /** Read-through: the cache owns the loader. */
  public <K, V> ReadThroughCache<K, V> readThrough(CacheOptions<K, V> cacheOptions, CacheLoader<K, V> loader) {
    return new ReadThroughCache<>(cache(cacheOptions), notNull(loader, "loader"));
  }

  /** Write-through: the cache owns the loader and the writer; writes go to the database, then a versioned set. */
  public <K, V> WriteThroughCache<K, V> writeThrough(CacheOptions<K, V> cacheOptions, CacheLoader<K, V> loader,
      CacheWriter<K, V> writer) {
    check(cacheOptions.versioned(), "cache '" + cacheOptions.namespace + "': write-through needs versioned values; "
        + "set CacheOptions.Builder.version(...)");
    return new WriteThroughCache<>(cache(cacheOptions), notNull(loader, "loader"), notNull(writer, "writer"));
  }

  /** True while invalidations may be missed (Redis unreachable, breaker open, tracking being restored). */
  public boolean degraded() {
    return tracker.degraded;
  }

  /**
   * How far behind the CDC listener of a namespace is, by the progress it published, as of the last poll; empty when
   * unknown or when the namespace does not set {@code listenerStalenessBound}.
   */
  public java.util.Optional<java.time.Duration> listenerStaleness(String namespace) {
    return tracker.listeners.staleness(namespace);
  }

  /** True while reads of the namespace bypass Redis because its CDC listener is too far behind (or unknown). */
  public boolean listenerUntrusted(String namespace) {
    return tracker.listeners.untrusted(namespace);
  }

  /** How many invalidations Redis has not taken yet (they are being retried). */
  public int pendingInvalidations() {
    return pending.size();
  }

  /** For tests: returns once every invalidation push Redis sent so far has been applied to L1. */
  void awaitPushesSoFar() {
    tracker.awaitPushesSoFar();
  }

  @Override
  public void close() {
    try {
      pending.close();
      tracker.close();
    } finally {
      link.close();
    }
  }
}
