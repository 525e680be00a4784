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
 * default.
 *
 * <h2>Lifetimes, and why they are ordered</h2>
 * <ul>
 *   <li>{@code ttl} (10 min, +/- {@code ttlJitter} 10%): a value's life in Redis. Jitter spreads expiries of keys filled
 *       together so they do not all miss at once.</li>
 *   <li>{@code negativeTtl} (30 s): a cached "not found".</li>
 *   <li>{@code l1Ttl} (1 min, capped by {@link VeracacheOptions.Builder#maxL1Ttl}): a value's life in this JVM's L1.</li>
 *   <li>{@code leaseTtl} (10 s): how long a miss holds the right to fill. It must exceed the slowest load: a fill that
 *       arrives after its lease expired and was taken by someone else is refused.</li>
 *   <li>{@code leaseWaitTimeout} (1 s): how long a concurrent miss waits for the lease holder's value before loading
 *       itself (without filling).</li>
 *   <li>{@code tombstoneTtl} (60 s, at least {@code leaseTtl}): how long a versioned invalidation is remembered. A fill
 *       from a lagging replica older than a forgotten tombstone would be accepted (race R12), so keep it longer than
 *       the slowest replica lag. A forgotten tombstone does not let a late write-through set in: a set is stored only
 *       over a record that proves it newest (R14).</li>
 * </ul>
 */
public final class CacheOptions<K, V> {

  /** {@code String.valueOf}; recognised on the read path so that String keys skip the call. */
  static final Function<Object, String> DEFAULT_KEY_ENCODER = String::valueOf;

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

  public static final class Builder<K, V> {
    private final String namespace;
    private final ValueCodec<V> codec;
    private Function<? super K, String> keyEncoder = DEFAULT_KEY_ENCODER;
    private String keyPrefix = "";
    private Duration ttl = Duration.ofMinutes(10);
    private double ttlJitter = 0.1;
    private boolean cacheNegatives = true;
    private Duration negativeTtl = Duration.ofSeconds(30);
    private boolean l1Enabled = true;
    private long l1MaximumSize = 10_000;
    private Duration l1Ttl = Duration.ofMinutes(1);
    private Duration leaseTtl = Duration.ofSeconds(10);
    private Duration leaseWaitTimeout = Duration.ofSeconds(1);
    private Duration tombstoneTtl = Duration.ofSeconds(60);
    private int maxValueBytes = 1024 * 1024;
    private ToLongFunction<? super V> versionOf;
    private CacheHooks hooks = CacheHooks.NONE;
    private Duration listenerStalenessBound;

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

    public Builder<K, V> ttl(Duration ttl) {
      this.ttl = positive(ttl, "ttl");
      return this;
    }

    /** A fraction in [0, 0.5]: each L2 TTL is drawn uniformly from {@code ttl * (1 +/- jitter)}. Default 0.1. */
    public Builder<K, V> ttlJitter(double jitter) {
      check(jitter >= 0 && jitter <= 0.5, "ttlJitter must be in [0, 0.5], was " + jitter);
      this.ttlJitter = jitter;
      return this;
    }

    /** Cache "not found" (a loader returning null) for {@code negativeTtl}. Default on, 30 s. */
    public Builder<K, V> negativeCaching(boolean enabled, Duration negativeTtl) {
      this.cacheNegatives = enabled;
      this.negativeTtl = positive(negativeTtl, "negativeTtl");
      return this;
    }

    /** Turn this JVM's L1 off (every read goes to Redis). Default on. */
    public Builder<K, V> l1Enabled(boolean enabled) {
      this.l1Enabled = enabled;
      return this;
    }

    public Builder<K, V> l1MaximumSize(long maximumSize) {
      this.l1MaximumSize = positive(maximumSize, "l1MaximumSize");
      return this;
    }

    public Builder<K, V> l1Ttl(Duration l1Ttl) {
      this.l1Ttl = positive(l1Ttl, "l1Ttl");
      return this;
    }

    public Builder<K, V> leaseTtl(Duration leaseTtl) {
      this.leaseTtl = positive(leaseTtl, "leaseTtl");
      return this;
    }

    public Builder<K, V> leaseWaitTimeout(Duration leaseWaitTimeout) {
      this.leaseWaitTimeout = positive(leaseWaitTimeout, "leaseWaitTimeout");
      return this;
    }

    public Builder<K, V> tombstoneTtl(Duration tombstoneTtl) {
      this.tombstoneTtl = positive(tombstoneTtl, "tombstoneTtl");
      return this;
    }

    /** Encoded values larger than this are not cached (counted and logged). Default 1 MiB. */
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
      return new CacheOptions<>(this);
    }
  }
}
