package dev.veracache.spring.cache;

import dev.veracache.CacheOptions;
import dev.veracache.Veracache;
import dev.veracache.spring.autoconfigure.VeracacheProperties;
import dev.veracache.spring.autoconfigure.VeracacheProperties.CacheSettings;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;

/**
 * Spring's {@link CacheManager} over one {@link Veracache} client: each cache name is one Veracache cache, configured
 * by {@code veracache.caches.<name>.*} (created at start) or, when {@code veracache.dynamic-caches} is true (the
 * default), by {@code veracache.cache-defaults.*} on its first use. See {@link VeracacheSpringCache} for what each
 * annotation does.
 */
public class VeracacheCacheManager implements CacheManager {

  private final Veracache veracache;
  private final CacheOptionsFactory optionsFactory;
  private final Map<String, CacheSettings> named;
  private final boolean dynamic;
  private final Map<String, VeracacheSpringCache> caches = new ConcurrentHashMap<>();

  public VeracacheCacheManager(Veracache veracache, VeracacheProperties properties, CacheOptionsFactory optionsFactory) {
    this.veracache = veracache;
    this.optionsFactory = optionsFactory;
    this.named = Map.copyOf(properties.getCaches());
    this.dynamic = properties.isDynamicCaches();
    named.keySet().forEach(this::getCache); // fail at start on a bad setting, and no L1 clear at run time
  }

  @Override
  public Cache getCache(String name) {
    VeracacheSpringCache cache = caches.get(name);
    if (cache != null) {
      return cache;
    }
    if (!named.containsKey(name) && !dynamic) {
      return null; // Spring then fails the call: "Cannot find cache named '<name>'"
    }
    return caches.computeIfAbsent(name, this::create);
  }

  private VeracacheSpringCache create(String name) {
    CacheOptions<Object, Object> options =
        optionsFactory.build(name, named.get(name), "veracache.caches." + name);
    return new VeracacheSpringCache(name, veracache.cache(options), options.versioned());
  }

  @Override
  public Collection<String> getCacheNames() {
    return Collections.unmodifiableSet(caches.keySet());
  }
}
