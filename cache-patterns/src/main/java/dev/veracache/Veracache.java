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
  private final InvalidationReplicas replicas;
  private final ConsistencyInspector inspector;
  /** One set of meters per namespace, shared by its key shapes (Micrometer keeps the first meter of an id). */
  private final java.util.concurrent.ConcurrentHashMap<String, CacheMetrics> metricsByNamespace =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final java.util.concurrent.ConcurrentHashMap<String, WriteBehindMetrics> writeBehindMetricsByNamespace =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** The refresh-ahead threads, created with the first cache that sets refreshAfterWrite; null before. */
  private RefreshAhead.Threads refreshThreads;
  /** Write-behind caches and flushers (and the refresh threads, closed last of them), closed newest first before the
   * Redis connection. */
  private final java.util.Deque<AutoCloseable> closeWithClient = new java.util.concurrent.ConcurrentLinkedDeque<>();

  private Veracache(VeracacheOptions options) {
    this.options = options;
    this.link = new RedisLink(options);
    this.fence = new FenceProtocol(link);
    this.tracker = new InvalidationTracker(link, options);
    this.replicas = new InvalidationReplicas(link, options);
    this.pending = new PendingInvalidations(options.invalidationReplicas == 0 ? fence::invalidate
        : (redisKey, invalidation, tombstoneTtlMillis) -> {
          fence.invalidate(redisKey, invalidation, tombstoneTtlMillis);
          replicas.awaitWriteOf(redisKey);
        }, options);
    tracker.onRecovery(pending::retrySoon);
    this.inspector = new ConsistencyInspector(options.inspector, options.meterRegistry, options.clientName);
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
    RedisEntries<V> entries = new RedisEntries<>(cacheOptions, link, pending, metrics);
    return new DefaultTieredCache<>(cacheOptions, fence, entries, tracker, pending, replicas, l1, flight, shape,
        metrics,
        inspector.samplerFor(cacheOptions, l1, entries),
        cacheOptions.refreshAfterWrite == null ? null : refreshThreads());
  }

  private synchronized RefreshAhead.Threads refreshThreads() {
    if (refreshThreads == null) {
      refreshThreads = new RefreshAhead.Threads(options.meterRegistry, options.clientName);
      closeWithClient.addFirst(refreshThreads); // closed last of them: write-behind may still read while closing
    }
    return refreshThreads;
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

  /**
   * Write-behind on a Kafka log: puts return once the log holds them and the cache serves them; a
   * {@link #writeBehindFlusher flusher} applies them to the database. Close it (or this client) on shutdown.
   *
   * @throws WriteBehindException naming the topic or the Kafka address when the topic does not exist or Kafka does
   *     not answer within the send timeout
   * @throws IllegalStateException when org.apache.kafka:kafka-clients is not on the classpath
   */
  public <K, V> WriteBehindCache<K, V> writeBehind(WriteBehindOptions<K, V> writeBehindOptions,
      CacheLoader<K, V> loader) {
    notNull(writeBehindOptions, "writeBehindOptions");
    notNull(loader, "loader");
    requireOneRedis("cache '" + writeBehindOptions.cache.namespace + "': write-behind");
    requireKafkaClients("cache '" + writeBehindOptions.cache.namespace + "'");
    TieredCache<K, V> tiered = cache(writeBehindOptions.cache);
    WriteBehindCache<K, V> cache = new WriteBehindCache<>((DefaultTieredCache<K, V>) tiered, loader,
        writeBehindOptions, writeBehindMetrics(writeBehindOptions.cache.namespace));
    closeWithClient.add(cache);
    return cache;
  }

  /**
   * Starts a flusher of a write-behind log: it applies the log to the database through {@code writer}, in
   * transactions from {@code database}, and fences the cache's keys after each commit. Flushers of one log share
   * {@code flusherOptions}' consumer group. Close it (or this client) on shutdown.
   *
   * @throws IllegalArgumentException when the options have no {@code keyDecoder}
   * @throws WriteBehindException naming the topic (or the dead-letter topic) or the Kafka address
   */
  public <K, V> WriteBehindFlusher<K, V> writeBehindFlusher(WriteBehindOptions<K, V> writeBehindOptions,
      FlusherOptions flusherOptions, javax.sql.DataSource database, WriteBehindWriter<K, V> writer) {
    notNull(writeBehindOptions, "writeBehindOptions");
    notNull(flusherOptions, "flusherOptions");
    notNull(database, "database");
    notNull(writer, "writer");
    requireOneRedis("cache '" + writeBehindOptions.cache.namespace + "': the write-behind flusher");
    check(writeBehindOptions.keyDecoder != null, "cache '" + writeBehindOptions.cache.namespace + "': the flusher "
        + "needs WriteBehindOptions.Builder.keyDecoder(...) (how the log's key text becomes a key again; "
        + "Function.identity() for String keys)");
    requireKafkaClients("cache '" + writeBehindOptions.cache.namespace + "'");
    WriteBehindFlusher<K, V> flusher = new WriteBehindFlusher<>(new FlushedKeys(writeBehindOptions.cache, fence, pending, replicas),
        writeBehindOptions, flusherOptions, database, writer, writeBehindMetrics(writeBehindOptions.cache.namespace))
        .start();
    closeWithClient.add(flusher);
    return flusher;
  }

  /**
   * Flash-sale stock written behind: atomic decrements in Redis that never go below zero, logged to Kafka before the
   * buyer is told; a {@link #stockFlusher} applies them to the database exactly once each.
   *
   * @throws WriteBehindException naming the topic or the Kafka address
   */
  public FlashSaleStock flashSaleStock(StockOptions stockOptions) {
    notNull(stockOptions, "stockOptions");
    requireOneRedis("stock '" + stockOptions.namespace + "'");
    requireKafkaClients("stock '" + stockOptions.namespace + "'");
    FlashSaleStock stock = new FlashSaleStock(stockOptions, fence, options.meterRegistry, options.clientName);
    closeWithClient.add(stock);
    return stock;
  }

  /**
   * Starts a flusher of a flash-sale log: it applies the logged sales through {@code writer}, records each sale's id in
   * {@link StockOptions#appliedTableDdl the applied table} in the same transaction, and gives back the units of
   * buyers that died before logging their sale.
   *
   * @throws WriteBehindException naming the topic, the Kafka address, or the applied table (with its DDL)
   */
  public StockFlusher stockFlusher(StockOptions stockOptions, FlusherOptions flusherOptions,
      javax.sql.DataSource database, StockWriter writer) {
    notNull(stockOptions, "stockOptions");
    notNull(flusherOptions, "flusherOptions");
    notNull(database, "database");
    notNull(writer, "writer");
    requireOneRedis("stock '" + stockOptions.namespace + "': the flusher");
    requireKafkaClients("stock '" + stockOptions.namespace + "'");
    StockFlusher flusher = new StockFlusher(stockOptions, flusherOptions, fence, database, writer,
        writeBehindMetrics("stock:" + stockOptions.namespace), options.meterRegistry, options.clientName).start();
    closeWithClient.add(flusher);
    return flusher;
  }

  private WriteBehindMetrics writeBehindMetrics(String namespace) {
    return writeBehindMetricsByNamespace.computeIfAbsent(namespace,
        ns -> new WriteBehindMetrics(options.meterRegistry, options.clientName, ns));
  }

  /**
   * Write-behind and flash-sale stock run scripts over two keys of different hash slots (a cache key and its version
   * counter, a stock counter and its pending sales): not on a Redis Cluster yet.
   */
  private void requireOneRedis(String what) {
    check(!options.isCluster(), what + " is not supported on a Redis Cluster yet: its scripts span two keys of "
        + "different hash slots; use one Redis (with replicas) for it");
  }

  private static void requireKafkaClients(String owner) {
    try {
      Class.forName("org.apache.kafka.clients.producer.KafkaProducer", false, Veracache.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(owner + ": write-behind needs "
          + "org.apache.kafka:kafka-clients on the classpath (an optional dependency of veracache-cache-patterns)");
    }
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

  /**
   * True while Redis answers but this client cannot trust it to take invalidations: the heartbeat write fails (Redis
   * paused behind a live connection, a read-only replica after a failover, out of memory). Reads bypass Redis then.
   */
  public boolean redisRefusesWrites() {
    return tracker.redisUnsafe;
  }

  /**
   * True while this client's connection to Redis is open (Lettuce reconnects a closed one by itself). A Redis that is
   * down also fails the heartbeat, so {@link #redisRefusesWrites} can be true for it too; this tells the two apart.
   */
  public boolean redisConnected() {
    return link.isOpen();
  }

  /** The options this client was created with (its meter registry, client name, Redis endpoint). */
  public VeracacheOptions options() {
    return options;
  }

  /**
   * The consistency inspector of this client's caches: what it sampled and found stale. Off unless
   * {@link VeracacheOptions.Builder#inspector(InspectorOptions)} set a sample rate.
   */
  public ConsistencyInspector inspector() {
    return inspector;
  }

  /** How many invalidations Redis has not taken yet (they are being retried). */
  public int pendingInvalidations() {
    return pending.size();
  }

  /** For tests: returns once every invalidation push Redis sent so far has been applied to L1. */
  /** Reads a cluster's topology now (tests: a refresh that found no change must not cost L1). */
  void refreshTopology() {
    link.refreshTopology();
  }

  void awaitPushesSoFar() {
    tracker.awaitPushesSoFar();
  }

  @Override
  public void close() {
    for (AutoCloseable c; (c = closeWithClient.pollLast()) != null; ) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {}: {}", c.getClass().getSimpleName(), e.toString());
      }
    }
    inspector.close();
    try {
      pending.close();
      tracker.close();
    } finally {
      link.close();
    }
  }
}
