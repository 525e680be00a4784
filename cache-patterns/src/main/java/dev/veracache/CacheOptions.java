package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;
import static dev.veracache.Preconditions.positive;

import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;

/**
 * Settings of one cache (one namespace). Build with {@link #builder(String, ValueCodec)}; every other setting has a
 * default; {@link #toBuilder()} derives options that differ in a few settings (another key shape of the namespace).
 *
 * <h2>Lifetimes, and why they are ordered</h2>
 * Each default is a {@code DEFAULT_*} constant of this class.
 * <ul>
 *   <li>{@code ttl} ({@link #DEFAULT_TTL}, +/- {@code ttlJitter} {@value #DEFAULT_TTL_JITTER}): a value's life in
 *       Redis. Jitter spreads expiries of keys filled together so they do not all miss at once.</li>
 *   <li>{@code negativeTtl} ({@link #DEFAULT_NEGATIVE_TTL}): a cached "not found".</li>
 *   <li>{@code l1Ttl} ({@link #DEFAULT_L1_TTL}, capped by {@link VeracacheOptions.Builder#maxL1Ttl}): a value's life
 *       in this JVM's L1.</li>
 *   <li>{@code leaseTtl} ({@link #DEFAULT_LEASE_TTL}): how long a miss holds the right to fill. It must exceed the
 *       slowest load: a fill that arrives after its lease expired and was taken by someone else is refused.</li>
 *   <li>{@code leaseWaitTimeout} ({@link #DEFAULT_LEASE_WAIT_TIMEOUT}, at most {@code leaseTtl}): how long a
 *       concurrent miss waits for the lease holder's value before loading itself (without filling).</li>
 *   <li>{@code tombstoneTtl} ({@link #DEFAULT_TOMBSTONE_TTL}, at least {@code leaseTtl}): how long a versioned
 *       invalidation is remembered. A fill from a lagging replica older than a forgotten tombstone would be accepted
 *       (race R12), so keep it longer than the slowest replica lag. A forgotten tombstone does not let a late
 *       write-through set in: a set is stored only over a record that proves it newest (R14).</li>
 *   <li>{@code refreshAfterWrite} (off): below {@code ttl}; a value read from Redis older than this is reloaded in
 *       the background before it expires (best below {@code ttl - l1Ttl}; see {@link RefreshAhead}).</li>
 * </ul>
 */
public final class CacheOptions<K, V> {

  /** {@code String.valueOf}; recognised on the read path so that String keys skip the call. */
  static final Function<Object, String> DEFAULT_KEY_ENCODER = String::valueOf;
  /** A value's life in Redis: 10 minutes. */
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(10);
  /** Each Redis TTL is drawn from {@code ttl * (1 +/- jitter)}. */
  public static final double DEFAULT_TTL_JITTER = 0.1;
  /** Whether "not found" is cached. */
  public static final boolean DEFAULT_NEGATIVE_CACHING = true;
  /** A cached "not found"'s life: 30 seconds. */
  public static final Duration DEFAULT_NEGATIVE_TTL = Duration.ofSeconds(30);
  /** Whether this JVM keeps an L1. */
  public static final boolean DEFAULT_L1_ENABLED = true;
  /** How many entries L1 holds. */
  public static final long DEFAULT_L1_MAXIMUM_SIZE = 10_000;
  /** A value's life in L1: 1 minute. */
  public static final Duration DEFAULT_L1_TTL = Duration.ofMinutes(1);
  /** How long a miss holds the right to fill: 10 seconds. */
  public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);
  /** How long a miss waits for another's lease: 1 second. */
  public static final Duration DEFAULT_LEASE_WAIT_TIMEOUT = Duration.ofSeconds(1);
  /** How long a versioned invalidation is remembered: 60 seconds. */
  public static final Duration DEFAULT_TOMBSTONE_TTL = Duration.ofSeconds(60);
  /** Encoded values larger than this many bytes (1 MiB) are not cached. */
  public static final int DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

  private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9_.\\-]{1,64}");
  private static final Pattern KEY_PREFIX = Pattern.compile("[A-Za-z0-9_.\\-:]{1,64}");

  final String namespace;
  final ValueCodec<V> codec;
  final Function<? super K, String> keyEncoder;
  final String keyPrefix; // "" for the namespace's plain key shape
  final Duration ttl;
  final double ttlJitter;
  final boolean cacheNegatives;
  final Duration negativeTtl;
  final boolean l1Enabled;
  final long l1MaximumSize;
  final Duration l1Ttl;
  final Duration leaseTtl;
  final Duration leaseWaitTimeout;
  final Duration tombstoneTtl;
  final int maxValueBytes;
  final ToLongFunction<? super V> versionOf;
  final CacheHooks hooks;
  final Duration listenerStalenessBound; // null: the CDC listener's progress is not watched
  final Duration refreshAfterWrite; // null: no refresh-ahead

  private CacheOptions(Builder<K, V> b) {
    this.namespace = b.namespace;
    this.codec = b.codec;
    this.keyEncoder = b.keyEncoder;
    this.keyPrefix = b.keyPrefix;
    this.ttl = b.ttl;
    this.ttlJitter = b.ttlJitter;
    this.cacheNegatives = b.cacheNegatives;
    this.negativeTtl = b.negativeTtl;
    this.l1Enabled = b.l1Enabled;
    this.l1MaximumSize = b.l1MaximumSize;
    this.l1Ttl = b.l1Ttl;
    this.leaseTtl = b.leaseTtl;
    this.leaseWaitTimeout = b.leaseWaitTimeout;
    this.tombstoneTtl = b.tombstoneTtl;
    this.maxValueBytes = b.maxValueBytes;
    this.versionOf = b.versionOf;
    this.hooks = b.hooks;
    this.listenerStalenessBound = b.listenerStalenessBound;
    this.refreshAfterWrite = b.refreshAfterWrite;
  }

  /**
   * @param namespace the key prefix in Redis ({@code namespace:key}); letters, digits, {@code _ . -}, at most 64
   * @param codec how values become bytes, for example {@code ValueCodec.json(Product.class)}
   */
  public static <K, V> Builder<K, V> builder(String namespace, ValueCodec<V> codec) {
    return new Builder<>(namespace, codec);
  }

  public String namespace() {
    return namespace;
  }

  /** The key shape's prefix inside the namespace ({@link Builder#keyPrefix}); empty for the plain shape. */
  public String keyPrefix() {
    return keyPrefix;
  }

  /** Whether values carry a version (see {@link Builder#version}). */
  public boolean versioned() {
    return versionOf != null;
  }

  /**
   * A builder holding every setting of these options (namespace and codec included), to derive options that differ
   * in a few: another key shape of the namespace ({@code keyPrefix}), another loader's TTL, another version.
   */
  public Builder<K, V> toBuilder() {
    Builder<K, V> b = new Builder<>(namespace, codec);
    b.keyEncoder = keyEncoder;
    b.keyPrefix = keyPrefix;
    b.ttl = ttl;
    b.ttlJitter = ttlJitter;
    b.cacheNegatives = cacheNegatives;
    b.negativeTtl = negativeTtl;
    b.l1Enabled = l1Enabled;
    b.l1MaximumSize = l1MaximumSize;
    b.l1Ttl = l1Ttl;
    b.leaseTtl = leaseTtl;
    b.leaseWaitTimeout = leaseWaitTimeout;
    b.tombstoneTtl = tombstoneTtl;
    b.maxValueBytes = maxValueBytes;
    b.versionOf = versionOf;
    b.hooks = hooks;
    b.listenerStalenessBound = listenerStalenessBound;
    b.refreshAfterWrite = refreshAfterWrite;
    return b;
  }

  public static final class Builder<K, V> {
    private final String namespace;
    private final ValueCodec<V> codec;
    private Function<? super K, String> keyEncoder = DEFAULT_KEY_ENCODER;
    private String keyPrefix = "";
    private Duration ttl = DEFAULT_TTL;
    private double ttlJitter = DEFAULT_TTL_JITTER;
    private boolean cacheNegatives = DEFAULT_NEGATIVE_CACHING;
    private Duration negativeTtl = DEFAULT_NEGATIVE_TTL;
    private boolean l1Enabled = DEFAULT_L1_ENABLED;
    private long l1MaximumSize = DEFAULT_L1_MAXIMUM_SIZE;
    private Duration l1Ttl = DEFAULT_L1_TTL;
    private Duration leaseTtl = DEFAULT_LEASE_TTL;
    private Duration leaseWaitTimeout = DEFAULT_LEASE_WAIT_TIMEOUT;
    private Duration tombstoneTtl = DEFAULT_TOMBSTONE_TTL;
    private int maxValueBytes = DEFAULT_MAX_VALUE_BYTES;
    private ToLongFunction<? super V> versionOf;
    private CacheHooks hooks = CacheHooks.NONE;
    private Duration listenerStalenessBound;
    private Duration refreshAfterWrite;

    private Builder(String namespace, ValueCodec<V> codec) {
      notNull(namespace, "namespace");
      check(NAMESPACE.matcher(namespace).matches(),
          "namespace '" + namespace + "' must be 1-64 letters, digits, '_', '.' or '-'");
      this.namespace = namespace;
      this.codec = notNull(codec, "codec");
    }

    /**
     * How a key becomes the text after {@code namespace:} (after {@code namespace:keyPrefix} with a
     * {@link #keyPrefix}). Default {@code String.valueOf}. It must give the text the CDC listener's key template
     * renders from the row (see cdc-invalidator's README, "Key rendering").
     */
    public Builder<K, V> keyEncoder(Function<? super K, String> keyEncoder) {
      this.keyEncoder = notNull(keyEncoder, "keyEncoder");
      return this;
    }

    /**
     * One key shape of a namespace: this cache's Redis keys are {@code namespace:keyPrefix<encoded key>}. A row cached
     * under several keys (by id and by SKU) gets one typed cache per shape over one namespace, each with its own key
     * type and loader, and the CDC mapping of that namespace invalidates all of them:
     *
     * <pre>{@code
     * // CDC mapping of table shop.item: namespace "items", keys ["{id}", "sku:{sku}"]
     * CacheAside<Long, Item> byId = veracache.cacheAside(CacheOptions.<Long, Item>builder("items", codec).build());
     * CacheAside<String, Item> bySku = veracache.cacheAside(
     *     CacheOptions.<String, Item>builder("items", codec).keyPrefix("sku:").build());   // items:sku:AB-1
     * }</pre>
     *
     * <p>The prefix is the template's literal text before its first placeholder ({@code "sku:"} for
     * {@code "sku:{sku}"}); letters, digits and {@code _ . - :}, at most 64. Within one client the shapes of a
     * namespace must differ and none may begin with another ({@code "sku:"} and {@code "sku:x"} would share keys);
     * the plain shape (no prefix) refuses a key that begins with a sibling's prefix. Default: none.
     */
    public Builder<K, V> keyPrefix(String keyPrefix) {
      notNull(keyPrefix, "keyPrefix");
      check(KEY_PREFIX.matcher(keyPrefix).matches(), "cache '" + namespace + "': keyPrefix '" + keyPrefix
          + "' must be 1-64 letters, digits, '_', '.', '-' or ':'");
      this.keyPrefix = keyPrefix;
      return this;
    }

    /** A value's life in Redis, before jitter. Default {@link CacheOptions#DEFAULT_TTL}. */
    public Builder<K, V> ttl(Duration ttl) {
      this.ttl = positive(ttl, "ttl");
      return this;
    }

    /**
     * A fraction in [0, 0.5]: each L2 TTL is drawn uniformly from {@code ttl * (1 +/- jitter)}. Default
     * {@value CacheOptions#DEFAULT_TTL_JITTER}.
     */
    public Builder<K, V> ttlJitter(double jitter) {
      check(jitter >= 0 && jitter <= 0.5, "ttlJitter must be in [0, 0.5], was " + jitter);
      this.ttlJitter = jitter;
      return this;
    }

    /**
     * Cache "not found" (a loader returning null) for {@code negativeTtl}. Default
     * {@value CacheOptions#DEFAULT_NEGATIVE_CACHING}, {@link CacheOptions#DEFAULT_NEGATIVE_TTL}.
     */
    public Builder<K, V> negativeCaching(boolean enabled, Duration negativeTtl) {
      this.cacheNegatives = enabled;
      this.negativeTtl = positive(negativeTtl, "negativeTtl");
      return this;
    }

    /** Turn this JVM's L1 off (every read goes to Redis). Default {@value CacheOptions#DEFAULT_L1_ENABLED}. */
    public Builder<K, V> l1Enabled(boolean enabled) {
      this.l1Enabled = enabled;
      return this;
    }

    /** How many entries this JVM's L1 holds. Default {@value CacheOptions#DEFAULT_L1_MAXIMUM_SIZE}. */
    public Builder<K, V> l1MaximumSize(long maximumSize) {
      this.l1MaximumSize = positive(maximumSize, "l1MaximumSize");
      return this;
    }

    /** A value's life in L1, at most the client's {@code maxL1Ttl}. Default {@link CacheOptions#DEFAULT_L1_TTL}. */
    public Builder<K, V> l1Ttl(Duration l1Ttl) {
      this.l1Ttl = positive(l1Ttl, "l1Ttl");
      return this;
    }

    /** How long a miss holds the right to fill; above the slowest load. Default {@link #DEFAULT_LEASE_TTL}. */
    public Builder<K, V> leaseTtl(Duration leaseTtl) {
      this.leaseTtl = positive(leaseTtl, "leaseTtl");
      return this;
    }

    /**
     * How long a miss that finds another's lease waits for its value before loading itself (without filling); at most
     * {@code leaseTtl}. Default {@link CacheOptions#DEFAULT_LEASE_WAIT_TIMEOUT}.
     */
    public Builder<K, V> leaseWaitTimeout(Duration leaseWaitTimeout) {
      this.leaseWaitTimeout = positive(leaseWaitTimeout, "leaseWaitTimeout");
      return this;
    }

    /**
     * How long a versioned invalidation is remembered; at least {@code leaseTtl}, longer than the slowest replica lag.
     * Default {@link CacheOptions#DEFAULT_TOMBSTONE_TTL}.
     */
    public Builder<K, V> tombstoneTtl(Duration tombstoneTtl) {
      this.tombstoneTtl = positive(tombstoneTtl, "tombstoneTtl");
      return this;
    }

    /**
     * Encoded values larger than this are not cached (counted and logged). Default
     * {@value CacheOptions#DEFAULT_MAX_VALUE_BYTES} (1 MiB).
     */
    public Builder<K, V> maxValueBytes(int maxValueBytes) {
      this.maxValueBytes = (int) positive(maxValueBytes, "maxValueBytes");
      return this;
    }

    /**
     * The row version carried by a value (a version column, or a commit timestamp in micros), >= 0. With it, fills and
     * write-through sets are refused when a newer version or a newer tombstone is in place (races R1, R4).
     */
    public Builder<K, V> version(ToLongFunction<? super V> versionOf) {
      this.versionOf = notNull(versionOf, "version");
      return this;
    }

    /**
     * Trust Redis and L1 for this namespace only while the CDC listener that invalidates it is at most {@code bound}
     * behind (race R18). The listener publishes its progress in Redis ({@code veracache:progress:<namespace>}); this
     * client reads it every {@code heartbeatInterval}. When the listener is further behind, stalled, dead, or has
     * published nothing yet, reads of this namespace bypass Redis (counted in {@code veracache.degraded.reads}) and
     * L1 serves only entries younger than {@code bound}, so no read is staler than about twice the bound plus one
     * heartbeat interval (an L1 entry read from Redis just before the listener fell behind may be served for one more
     * bound). Every listener that maps the namespace counts once it has published; a retired listener's progress
     * ({@code HDEL veracache:progress:<namespace> <listener>}) must be removed, or the namespace stays untrusted.
     * After Redis was lost and came back, the namespace is trusted again only once the listener has applied
     * everything committed up to that moment (which also covers a Redis that came back with old data). Off by default:
     * set it for every namespace a listener maps.
     */
    public Builder<K, V> listenerStalenessBound(Duration bound) {
      this.listenerStalenessBound = positive(bound, "listenerStalenessBound");
      return this;
    }

    /**
     * Refresh-ahead: a read served a value from Redis that is older than {@code refreshAfterWrite} still gets it at
     * once, and triggers one background reload of the key (one per key across clients, through a short claim in
     * Redis), which renews the entry by proof, never by a blind overwrite: the same value gets a new lifetime only if
     * the record is still exactly what was read; a newer version is stored through the versioned set; a value the
     * database no longer has is invalidated. So a hot key never misses at its TTL. The age is Redis's: {@code ttl}
     * minus the key's remaining life (approximate by up to {@code ttlJitter * ttl}). L1 hits do not trigger it (an L1
     * entry lives at most {@code l1Ttl}): keep {@code refreshAfterWrite} below {@code ttl - l1Ttl} so that a key read
     * only from L1 still meets Redis before its value expires there. The reload calls the read's loader on a refresh
     * thread, not the caller's. Must be positive and below {@code ttl}. Off by default. See the module README,
     * "Refresh-ahead".
     */
    public Builder<K, V> refreshAfterWrite(Duration refreshAfterWrite) {
      this.refreshAfterWrite = positive(refreshAfterWrite, "refreshAfterWrite");
      return this;
    }

    /** Callbacks at the race-relevant points of the read and write paths, for tests and chaos scenarios. */
    public Builder<K, V> hooks(CacheHooks hooks) {
      this.hooks = notNull(hooks, "hooks");
      return this;
    }

    public CacheOptions<K, V> build() {
      check(leaseWaitTimeout.compareTo(leaseTtl) <= 0, "cache '" + namespace + "': leaseWaitTimeout ("
          + leaseWaitTimeout + ") must not exceed leaseTtl (" + leaseTtl + ")");
      check(tombstoneTtl.compareTo(leaseTtl) >= 0, "cache '" + namespace + "': tombstoneTtl (" + tombstoneTtl
          + ") must be at least leaseTtl (" + leaseTtl + ")");
      check(refreshAfterWrite == null || refreshAfterWrite.compareTo(ttl) < 0, "cache '" + namespace
          + "': refreshAfterWrite (" + refreshAfterWrite + ") must be below ttl (" + ttl + ")");
      return new CacheOptions<>(this);
    }
  }
}
