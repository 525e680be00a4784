package dev.veracache.spring.cache;

import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.spring.autoconfigure.VeracacheProperties.CacheSettings;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Builds one cache's {@link CacheOptions} from {@code veracache.caches.<name>.*}, falling back to
 * {@code veracache.cache-defaults.*}, then to the library's defaults. A value the library refuses fails with the full
 * property name and the value ({@code veracache.caches.products.l1-maximum-size=-1: ...}).
 */
public final class CacheOptionsFactory {

  private final CacheSettings defaults;
  private final ValueCodec<Object> untypedCodec;

  /**
   * @param defaults {@code veracache.cache-defaults}
   * @param untypedCodec the codec of caches without a {@code value-type}
   */
  public CacheOptionsFactory(CacheSettings defaults, ValueCodec<Object> untypedCodec) {
    this.defaults = defaults;
    this.untypedCodec = untypedCodec;
  }

  /**
   * The codec of caches without a {@code value-type}: JSON with the class name; only classes in
   * {@code trustedPackages} (and a few JDK value types) are read back.
   */
  public static ValueCodec<Object> typedJson(java.util.List<String> trustedPackages, ClassLoader classLoader) {
    return new TypedJsonCodec(trustedPackages, classLoader);
  }

  @SuppressWarnings("unchecked")
  private static ValueCodec<Object> jsonOf(Class<?> type) {
    return (ValueCodec<Object>) ValueCodec.json(type);
  }

  /**
   * @param name the cache name
   * @param settings its {@code veracache.caches.<name>} settings, or null when it is not named there
   * @param path the property prefix the settings came from, for errors
   */
  public CacheOptions<Object, Object> build(String name, CacheSettings settings, String path) {
    CacheSettings own = settings == null ? new CacheSettings() : settings;
    String at = settings == null ? "veracache.cache-defaults" : path;
    Class<?> valueType = pick(own.getValueType(), defaults.getValueType());
    String namespace = pick(own.getNamespace(), name);
    CacheOptions.Builder<Object, Object> b;
    try {
      b = CacheOptions.builder(namespace, valueType == null ? untypedCodec : jsonOf(valueType));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ".namespace=" + namespace + ": " + e.getMessage(), e);
    }
    set(at, "key-prefix", own.getKeyPrefix(), defaults.getKeyPrefix(), b::keyPrefix);
    set(at, "ttl", own.getTtl(), defaults.getTtl(), b::ttl);
    set(at, "ttl-jitter", own.getTtlJitter(), defaults.getTtlJitter(), b::ttlJitter);
    Boolean negatives = pick(own.getNegativeCaching(), defaults.getNegativeCaching());
    Duration negativeTtl = pick(own.getNegativeTtl(), defaults.getNegativeTtl());
    if (negatives != null || negativeTtl != null) {
      Duration ttl = negativeTtl == null ? CacheOptions.DEFAULT_NEGATIVE_TTL : negativeTtl;
      set(at, "negative-ttl", ttl, null, d -> b.negativeCaching(negatives == null || negatives, d));
    }
    set(at, "l1-enabled", own.getL1Enabled(), defaults.getL1Enabled(), b::l1Enabled);
    set(at, "l1-maximum-size", own.getL1MaximumSize(), defaults.getL1MaximumSize(), b::l1MaximumSize);
    set(at, "l1-ttl", own.getL1Ttl(), defaults.getL1Ttl(), b::l1Ttl);
    set(at, "lease-ttl", own.getLeaseTtl(), defaults.getLeaseTtl(), b::leaseTtl);
    set(at, "lease-wait-timeout", own.getLeaseWaitTimeout(), defaults.getLeaseWaitTimeout(), b::leaseWaitTimeout);
    set(at, "tombstone-ttl", own.getTombstoneTtl(), defaults.getTombstoneTtl(), b::tombstoneTtl);
    set(at, "max-value-bytes", own.getMaxValueBytes(), defaults.getMaxValueBytes(), b::maxValueBytes);
    set(at, "listener-staleness-bound", own.getListenerStalenessBound(), defaults.getListenerStalenessBound(),
        b::listenerStalenessBound);
    set(at, "refresh-after-write", own.getRefreshAfterWrite(), defaults.getRefreshAfterWrite(),
        b::refreshAfterWrite);
    String versionProperty = pick(own.getVersionProperty(), defaults.getVersionProperty());
    if (versionProperty != null) {
      if (versionProperty.isBlank()) {
        throw new IllegalArgumentException(at + ".version-property must not be blank");
      }
      b.version(new VersionProperty(name, versionProperty.strip()));
    }
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
    }
  }

  private static <T> T pick(T own, T fallback) {
    return own != null ? own : fallback;
  }

  private static <T> void set(String at, String property, T own, T fallback, Consumer<T> setter) {
    T value = pick(own, fallback);
    if (value == null) {
      return;
    }
    try {
      setter.accept(value);
    } catch (IllegalArgumentException | NullPointerException e) {
      String where = own != null ? at : "veracache.cache-defaults";
      throw new IllegalArgumentException(where + "." + property + "=" + value + ": " + e.getMessage(), e);
    }
  }
}
