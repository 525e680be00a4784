package dev.veracache.spring.actuate;

import dev.veracache.ConsistencyInspector;
import dev.veracache.Veracache;
import dev.veracache.spring.cache.VeracacheCacheManager;
import dev.veracache.spring.cache.VeracacheSpringCache;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * Actuator endpoint {@code veracache} ({@code /actuator/veracache} once exposed): per cache its reads by level and
 * hit ratio, fills stored and refused by the fence, and how far its CDC listener is behind; for the client, pending
 * invalidations and the Redis link; the inspector's counts. Read from the client's meters (the same numbers as
 * {@code veracache.*} in the metrics endpoint), so it costs the read path nothing.
 */
@Endpoint(id = "veracache")
public class VeracacheEndpoint {

  private final Veracache veracache;
  private final VeracacheCacheManager cacheManager;
  private final Map<String, java.util.function.Supplier<Object>> sections = new LinkedHashMap<>();

  public VeracacheEndpoint(Veracache veracache, VeracacheCacheManager cacheManager) {
    this.veracache = veracache;
    this.cacheManager = cacheManager;
  }

  /** Adds a section to the report (the CDC listener's, the inspector's), computed at each read. */
  public VeracacheEndpoint section(String name, java.util.function.Supplier<Object> section) {
    sections.put(name, section);
    return this;
  }

  @ReadOperation
  public Map<String, Object> report() {
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("client", veracache.options().clientName());
    report.put("degraded", veracache.degraded());
    report.put("redisRefusesWrites", veracache.redisRefusesWrites());
    report.put("pendingInvalidations", veracache.pendingInvalidations());
    Map<String, Object> caches = new TreeMap<>();
    for (String name : cacheManager.getCacheNames()) {
      VeracacheSpringCache cache = (VeracacheSpringCache) cacheManager.getCache(name);
      if (cache != null) {
        caches.put(name, cacheReport(cache.getNativeCache().namespace()));
      }
    }
    report.put("caches", caches);
    ConsistencyInspector inspector = veracache.inspector();
    if (inspector.enabled()) {
      report.put("inspector", Map.of("sampled", inspector.sampled(), "mismatched", inspector.mismatched(), "stale",
          inspector.stale(), "dropped", inspector.dropped(), "errors", inspector.errors()));
    }
    sections.forEach((name, section) -> report.put(name, section.get()));
    return report;
  }

  private Map<String, Object> cacheReport(String namespace) {
    MeterRegistry registry = veracache.options().meterRegistry();
    String client = veracache.options().clientName();
    double l1Hits = count(registry, client, namespace, "veracache.gets", "level", "l1", "result", "hit");
    double l1Misses = count(registry, client, namespace, "veracache.gets", "level", "l1", "result", "miss");
    double l2Hits = count(registry, client, namespace, "veracache.gets", "level", "l2", "result", "hit");
    double l2Misses = count(registry, client, namespace, "veracache.gets", "level", "l2", "result", "miss");
    double reads = l1Hits + l1Misses > 0 ? l1Hits + l1Misses : l2Hits + l2Misses;
    Map<String, Object> cache = new LinkedHashMap<>();
    cache.put("namespace", namespace);
    cache.put("hitRatio", reads == 0 ? null : (l1Hits + l2Hits) / reads);
    cache.put("l1HitRatio", reads == 0 ? null : l1Hits / reads);
    cache.put("reads", Map.of("l1Hits", (long) l1Hits, "l1Misses", (long) l1Misses, "l2Hits", (long) l2Hits,
        "l2Misses", (long) l2Misses));
    Map<String, Object> fills = new LinkedHashMap<>();
    for (String result : new String[] {"stored", "refused_lease", "refused_version", "refused_present", "failed"}) {
      fills.put(result, (long) count(registry, client, namespace, "veracache.fills", "result", result));
    }
    cache.put("fills", fills);
    cache.put("degradedReads", (long) count(registry, client, namespace, "veracache.degraded.reads"));
    veracache.listenerStaleness(namespace).ifPresent(lag -> cache.put("cdcLagMillis", lag.toMillis()));
    cache.put("cdcUntrusted", veracache.listenerUntrusted(namespace));
    return cache;
  }

  private static double count(MeterRegistry registry, String client, String cache, String name, String... tags) {
    Search search = registry.find(name).tag("client", client).tag("cache", cache).tags(tags);
    Counter counter = search.counter();
    if (counter != null) {
      return counter.count();
    }
    FunctionCounter functionCounter = search.functionCounter();
    return functionCounter == null ? 0 : functionCounter.count();
  }
}
