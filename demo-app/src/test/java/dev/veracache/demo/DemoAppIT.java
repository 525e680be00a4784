package dev.veracache.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.Veracache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The demo app on its embedded stack (MariaDB with binlog, Redis, a Kafka broker), through its HTTP API as the page
 * uses it; the cached reads it checks go through the app's own beans. Every wait is bounded generously (a loaded
 * 2-core machine) and waits for what the servers say, never for time to pass.
 */
@DemoTestApplication
class DemoAppIT {

  /** A generous bound for what happens in milliseconds on an idle machine. */
  private static final Duration SETTLES = Duration.ofSeconds(60);

  @LocalServerPort int port;
  @Autowired ProductService products;
  @Autowired ShopDatabase database;
  @Autowired Veracache veracache;
  private DemoApi api;

  @BeforeEach
  void api() {
    api = new DemoApi(port);
  }

  private static <T> T await(java.util.concurrent.Callable<T> value, java.util.function.Predicate<T> until) {
    return org.awaitility.Awaitility.await().atMost(SETTLES).pollInterval(Duration.ofMillis(50)).until(value, until);
  }

  @Test
  void aSnapshotHasTheFourStrategiesAndTheEmbeddedServers() {
    JsonNode s = api.snapshot();
    List<String> ids = new ArrayList<>();
    s.get("strategies").forEach(strategy -> ids.add(strategy.get("id").asString()));
    assertThat(ids).containsExactly("cache-aside", "read-through", "write-through", "write-behind");
    assertThat(DemoApi.strategy(s, "cache-aside").get("namespace").asString()).isEqualTo("products");
    assertThat(s.get("mode").asString()).isEqualTo("embedded");
    assertThat(s.get("cdc").get("where").asString()).isEqualTo("in-app");
    for (String section : new String[] {"writeBehind", "inspector", "redis", "load", "events"}) {
      assertThat(s.has(section)).as("section %s", section).isTrue();
    }
  }

  @Test
  void theStreamSendsSnapshotEventsOnceASecond() {
    List<JsonNode> events = api.streamEvents(2);
    assertThat(events).hasSize(2);
    assertThat(events.get(0).get("strategies").size()).isEqualTo(4);
    assertThat(events.get(1).get("time").asLong()).as("a later snapshot").isGreaterThan(events.get(0).get("time")
        .asLong());
  }

  @Test
  void underTheLoadGeneratorTheCacheAsideStrategyShowsL1AndL2Hits() {
    api.action("load?on=true");
    try {
      JsonNode cacheAside = await(() -> DemoApi.strategy(api.snapshot(), "cache-aside"),
          s -> s.get("reads").get("l1").asLong() > 0 && s.get("reads").get("l2").asLong() > 0);
      assertThat(cacheAside.get("hitRatio").get("l1").asDouble()).isPositive();
      assertThat(await(() -> api.snapshot().get("load"), load -> load.get("readsPerSecond").asDouble() > 0)
          .get("running").asBoolean()).isTrue();
    } finally {
      api.action("load?on=false");
    }
    assertThat(api.snapshot().get("load").get("running").asBoolean()).isFalse();
    assertThat(api.snapshot().get("load").get("failed").asLong()).as("load operations that threw").isZero();
  }

  @Test
  void aSqlChangeBehindTheCachesBackBecomesVisibleAndTheCachedReadEqualsTheDatabase() {
    JsonNode answer = api.action("sql-change?productId=5");
    assertThat(answer.get("text").asString()).contains("UPDATE shop.product");
    JsonNode change = await(() -> api.snapshot().get("lastSqlChange"),
        c -> c.get("productId").asLong() == 5 && !c.get("visibleAfterMillis").isNull());
    assertThat(change.get("visibleAfterMillis").asLong()).isNotNegative();
    Product cached = products.find(5);
    assertThat(cached).isEqualTo(database.product(5));
    assertThat(cached.name()).isEqualTo(change.get("newName").asString());
  }

  @Test
  void aFlashSaleSellsExactlyTheStockAndTheDatabaseSettlesAtZero() {
    api.action("flash-sale?stock=50&buyers=8");
    JsonNode sale = await(() -> api.snapshot().get("sale"),
        s -> !s.get("running").asBoolean() && s.get("settled").asBoolean());
    assertThat(sale.get("stock").asLong()).isEqualTo(50);
    assertThat(sale.get("buyers").asLong()).isEqualTo(8);
    assertThat(sale.get("sold").asLong()).as("sold = stock").isEqualTo(50);
    assertThat(sale.get("oversold").asLong()).isZero();
    assertThat(sale.get("soldOut").asLong()).as("every buyer heard sold out").isEqualTo(8);
    assertThat(sale.get("dbStock").asLong()).as("the database settled at stock - sold").isZero();
    // The flusher counts a batch once its reservations are settled in Redis, just after the database commit.
    await(() -> api.snapshot().get("writeBehind"), wb -> wb.get("applied").asLong() >= 50);
  }

  @Test
  void aRestartedListenerGoesLiveAgainAndInvalidatesAChangeMadeWhileItWasDown() {
    long id = 23;
    Product before = products.find(id); // cached in Redis before the listener stops
    assertThat(before).isNotNull();

    api.action("restart-listener?downSeconds=3");
    JsonNode down = api.snapshot().get("cdc");
    assertThat(down.get("running").asBoolean()).as("stopped at once: %s", down).isFalse();
    String newName = "renamed while the listener was down";
    database.renameBehindTheCachesBack(id, newName);

    await(() -> api.snapshot().get("cdc"), c -> c.get("running").asBoolean() && "LIVE".equals(c.get("state")
        .asString()));
    // Redis holds the old row for its 10 min TTL unless the new listener replays the change from its stored position.
    await(() -> veracache.listenerUntrusted(ShopConfiguration.PRODUCTS), untrusted -> !untrusted);
    assertThat(await(() -> products.find(id).name(), newName::equals)).isEqualTo(newName);
    assertThat(products.find(id)).isEqualTo(database.product(id));
  }

  @Test
  void whileRedisIsPausedReadsKeepAnsweringAndItsHealthLeavesUpThenComesBack() {
    for (long id = 1; id <= 5; id++) {
      products.find(id);
    }
    api.action("pause-redis?seconds=10");
    assertThat(api.snapshot().get("redis").get("paused").asBoolean()).isTrue();
    await(() -> {
      for (long id = 1; id <= 5; id++) {
        assertThat(products.find(id)).as("a read while Redis is paused").isEqualTo(database.product(id));
      }
      return api.snapshot().get("redis").get("health").asString();
    }, health -> !"UP".equals(health));
    JsonNode back = await(() -> api.snapshot().get("redis"),
        r -> !r.get("paused").asBoolean() && "UP".equals(r.get("health").asString()));
    assertThat(back.get("health").asString()).isEqualTo("UP");
    assertThat(products.find(1)).isEqualTo(database.product(1));
  }

  @Test
  void aBadParameterIsRefusedNamingIt() {
    assertThat(api.action("flash-sale?stock=0", 400).get("error").asString()).contains("stock");
    assertThat(api.action("load", 400).get("error").asString()).contains("'on'");
    assertThat(api.action("pause-redis?seconds=x", 400).get("error").asString()).contains("'seconds'");
    assertThat(api.action("sql-change?productId=999999", 400).get("error").asString()).contains("productId");
  }
}
