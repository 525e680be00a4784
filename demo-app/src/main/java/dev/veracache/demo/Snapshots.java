package dev.veracache.demo;

import dev.veracache.ConsistencyInspector;
import dev.veracache.Veracache;
import dev.veracache.spring.actuate.VeracacheRedisHealthIndicator;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.search.Search;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The page's numbers ({@code GET /api/snapshot}), all read from where they are kept: the client's meters
 * ({@code veracache.gets}, {@code veracache.loads}, {@code veracache.fills}, {@code veracache.puts},
 * {@code veracache.inspector.*}, {@code veracache.writebehind.*}, {@code veracache.stock.refused}, tagged with the
 * client's name and each strategy's namespace, as the starter's {@code veracache} endpoint reads them), the CDC
 * listener's report, the stock flusher, the Redis health indicator; the sale's counts are its buyers' own.
 *
 * <p>Invariant: nothing here counts an event a meter already counts; every counter is cumulative since the start.
 */
@Component
public class Snapshots {

  /** The four strategies: id, title, namespace, what. */
  static final List<String[]> STRATEGIES = List.of(
      new String[] {"cache-aside", "Products: cache-aside", ShopConfiguration.PRODUCTS,
          "shop.product through @Cacheable(cacheNames = \"products\", sync = true), invalidated by CDC"},
      new String[] {"read-through", "Product pages: read-through", ShopConfiguration.PAGES,
          "shop.product_page through a ReadThroughCache (the cache owns the loader), invalidated by CDC"},
      new String[] {"write-through", "Prices: write-through", ShopConfiguration.PRICES,
          "shop.price through a WriteThroughCache: database first, then a versioned set; CDC-mapped too"},
      new String[] {"write-behind", "Flash-sale stock: write-behind", ShopConfiguration.STOCK,
          "shop.stock through FlashSaleStock (atomic decrement in Redis, logged to Kafka) and a StockFlusher"});
  private static final String STOCK_METERS = "stock:" + ShopConfiguration.STOCK;

  private final Veracache veracache;
  private final CdcView cdc;
  private final StockFlusherLifecycle flusher;
  private final ObjectProvider<VeracacheRedisHealthIndicator> redisHealth;
  private final DemoActions actions;
  private final FlashSale sale;
  private final LoadGenerator load;
  private final EventLog events;
  private final DemoProperties demo;

  Snapshots(Veracache veracache, CdcView cdc, StockFlusherLifecycle flusher,
      ObjectProvider<VeracacheRedisHealthIndicator> redisHealth, DemoActions actions, FlashSale sale,
      LoadGenerator load, EventLog events, DemoProperties demo) {
    this.veracache = veracache;
    this.cdc = cdc;
    this.flusher = flusher;
    this.redisHealth = redisHealth;
    this.actions = actions;
    this.sale = sale;
    this.load = load;
    this.events = events;
    this.demo = demo;
  }

  public Map<String, Object> snapshot() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("time", System.currentTimeMillis());
    s.put("mode", demo.embeddedStack() ? "embedded" : "external");
    List<Map<String, Object>> strategies = new ArrayList<>();
    for (String[] strategy : STRATEGIES) {
      strategies.add(strategy(strategy));
    }
    s.put("strategies", strategies);
    s.put("cdc", cdc.snapshot());
    s.put("writeBehind", writeBehind());
    s.put("inspector", inspector());
    Map<String, Object> redis = new LinkedHashMap<>();
    VeracacheRedisHealthIndicator health = redisHealth.getIfAvailable();
    redis.put("health", health == null ? "UNKNOWN" : health.health().getStatus().getCode());
    redis.put("paused", actions.redisPaused());
    s.put("redis", redis);
    s.put("sale", sale.snapshot());
    s.put("lastSqlChange", actions.lastSqlChange());
    s.put("load", load.snapshot());
    s.put("events", events.newestFirst());
    return s;
  }

  private Map<String, Object> strategy(String[] strategy) {
    String namespace = strategy[2];
    long l1 = count("veracache.gets", namespace, "level", "l1", "result", "hit");
    long l2 = count("veracache.gets", namespace, "level", "l2", "result", "hit");
    long db = timerCount("veracache.loads", namespace);
    long total = l1 + l2 + db;
    Map<String, Object> reads = new LinkedHashMap<>();
    reads.put("l1", l1);
    reads.put("l2", l2);
    reads.put("db", db);
    Map<String, Object> hitRatio = null;
    if (total > 0) {
      hitRatio = new LinkedHashMap<>();
      hitRatio.put("l1", (double) l1 / total);
      hitRatio.put("l2", (double) l2 / total);
      hitRatio.put("db", (double) db / total);
    }
    long refusals = 0;
    for (String result : new String[] {"refused_lease", "refused_version", "refused_present"}) {
      refusals += count("veracache.fills", namespace, "result", result);
    }
    refusals += count("veracache.puts", namespace, "result", "refused_version");
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", strategy[0]);
    m.put("title", strategy[1]);
    m.put("namespace", namespace);
    m.put("what", strategy[3]);
    m.put("reads", reads);
    m.put("hitRatio", hitRatio);
    m.put("fenceRefusals", refusals);
    m.put("inspectorStale", count("veracache.inspector.stale", namespace));
    return m;
  }

  private Map<String, Object> writeBehind() {
    Map<String, Object> wb = new LinkedHashMap<>();
    wb.put("backlog", flusher.backlog());
    Timer lag = search("veracache.writebehind.flush.lag", STOCK_METERS).timer();
    Long lagMillis = null;
    if (lag != null && lag.count() > 0) {
      double max = lag.max(TimeUnit.MILLISECONDS); // the longest of the last minutes (decays); else the mean
      lagMillis = Math.round(max > 0 ? max : lag.mean(TimeUnit.MILLISECONDS));
    }
    wb.put("flushLagMillis", lagMillis);
    wb.put("applied", count("veracache.writebehind.flushed", STOCK_METERS));
    Search refused = registry().find("veracache.stock.refused").tag("client", client())
        .tag("stock", ShopConfiguration.STOCK);
    wb.put("refused", refused.counter() == null ? 0 : (long) refused.counter().count());
    return wb;
  }

  private Map<String, Object> inspector() {
    ConsistencyInspector inspector = veracache.inspector();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sampled", inspector.sampled());
    m.put("stale", inspector.stale());
    m.put("mismatched", inspector.mismatched());
    return m;
  }

  private MeterRegistry registry() {
    return veracache.options().meterRegistry();
  }

  private String client() {
    return veracache.options().clientName();
  }

  private Search search(String name, String cache, String... tags) {
    return registry().find(name).tag("client", client()).tag("cache", cache).tags(tags);
  }

  /** A counter summed over every meter that matches (e.g. both results of a name). */
  private long count(String name, String cache, String... tags) {
    double sum = 0;
    for (Counter c : search(name, cache, tags).counters()) {
      sum += c.count();
    }
    for (FunctionCounter c : search(name, cache, tags).functionCounters()) {
      sum += c.count();
    }
    return (long) sum;
  }

  private long timerCount(String name, String cache) {
    long sum = 0;
    for (Timer t : search(name, cache).timers()) {
      sum += t.count();
    }
    return sum;
  }
}
