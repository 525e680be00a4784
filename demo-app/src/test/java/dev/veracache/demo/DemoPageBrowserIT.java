package dev.veracache.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The live page in real headless Chromium (Selenium, Debian's chromedriver), against the demo on its embedded stack:
 * each button pressed as a visitor would, and what the page then shows checked against what the servers say (the
 * database's rows, the app's API). The same Spring context as {@link DemoAppIT} ({@link DemoTestApplication}), so no
 * second app start. Screenshots: {@code target/demo-page.png} at the end, {@code target/demo-page-failed-<test>.png}
 * when a step fails (kept by CI as artifacts).
 */
@DemoTestApplication
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DemoPageBrowserIT {

  private static final Path SCREENSHOT = Path.of("target", "demo-page.png");

  @LocalServerPort int port;
  @Autowired ProductService products;
  @Autowired ShopDatabase database;
  private HeadlessBrowser page;
  private DemoApi api;

  @BeforeAll
  void openThePage() throws IOException {
    api = new DemoApi(port);
    page = HeadlessBrowser.start(1400, 2000);
    page.open("http://localhost:" + port + "/");
  }

  @AfterAll
  void closeTheBrowser() throws IOException {
    if (page != null) {
      page.close();
    }
  }

  /** Runs a step, keeping a screenshot of the page when it fails. */
  private void step(String name, Runnable body) throws IOException {
    try {
      body.run();
    } catch (AssertionError | RuntimeException e) {
      page.screenshot(Path.of("target", "demo-page-failed-" + name + ".png"));
      throw e;
    }
  }

  @Test
  @Order(1)
  void thePageStreamsSnapshotsAndShowsTheFourStrategiesAndALiveListener() throws IOException {
    step("stream", () -> {
      page.waitUntil("two snapshots from the stream", p -> "live".equals(p.text("stream-status"))
          && Integer.parseInt(p.attribute("body", "data-snapshots", "0")) >= 2);
      page.waitUntil("the CDC listener LIVE", p -> "LIVE".equals(p.text("cdc-state")));
      assertThat(page.text("mode")).isEqualTo("embedded");
      for (String id : new String[] {"cache-aside", "read-through", "write-through", "write-behind"}) {
        assertThat(page.exists("strategy-" + id)).as("a card for %s", id).isTrue();
      }
      // DEGRADED until the fresh listener's progress makes its namespaces trusted: then UP.
      page.waitUntil("Redis health UP", p -> "UP".equals(p.text("redis-health")));
    });
  }

  @Test
  @Order(2)
  void aRowChangedBehindTheAppsBackShowsWhenTheCacheServedItAndTheCachedRowEqualsTheDatabase() throws IOException {
    step("sql-change", () -> {
      page.click("btn-sql-change");
      page.waitUntil("how long the change took to become visible",
          p -> p.text("sql-visible-after").matches("\\d+"));
      JsonNode change = api.snapshot().get("lastSqlChange");
      assertThat(page.text("sql-visible-after")).isEqualTo(change.get("visibleAfterMillis").asString());
      long id = change.get("productId").asLong();
      assertThat(page.text("sql-result")).contains("product " + id).contains(change.get("newName").asString());
      assertThat(products.find(id)).as("the cached product %s", id).isEqualTo(database.product(id));
      assertThat(products.find(id).name()).isEqualTo(change.get("newName").asString());
    });
  }

  @Test
  @Order(3)
  void aFlashSaleShowsSoldEqualToTheStockNothingOversoldAndTheDatabaseAtZero() throws IOException {
    step("flash-sale", () -> {
      page.click("btn-flash-sale");
      page.waitUntil("the sale settled in the database", p -> "settled".equals(p.text("sale-state")));
      JsonNode sale = api.snapshot().get("sale");
      assertThat(page.text("sale-stock")).isEqualTo("100");
      assertThat(page.text("sale-sold")).as("sold = stock").isEqualTo("100");
      assertThat(page.text("sale-oversold")).isEqualTo("0");
      assertThat(page.text("sale-db-stock")).isEqualTo("0");
      assertThat(database.stock(sale.get("item").asLong())).as("the stock row in the database").isZero();
    });
  }

  @Test
  @Order(4)
  void theLoadGeneratorMovesTheHitCountsAndTheInspectorFindsNoStaleRead() throws IOException {
    step("load", () -> {
      long l1Before = page.number("strategy-cache-aside", "reads-l1");
      page.click("btn-load");
      page.waitUntil("the load generator on", p -> "on".equals(p.text("load-state")));
      page.waitUntil("L1 hits of the cache-aside strategy growing under load",
          p -> p.number("strategy-cache-aside", "reads-l1") > l1Before);
      page.waitUntil("hits sampled by the inspector", p -> Long.parseLong(p.text("inspector-sampled")) > 0);
      page.click("btn-load");
      page.waitUntil("the load generator off", p -> "off".equals(p.text("load-state")));
      JsonNode inspector = api.snapshot().get("inspector");
      page.waitUntil("the inspector's stale count as the server has it",
          p -> p.text("inspector-stale").equals(inspector.get("stale").asString()));
      assertThat(page.text("inspector-stale")).as("stale reads found by the inspector").isEqualTo("0");
    });
  }

  @Test
  @Order(5)
  void pausingRedisIsAnsweredLoggedAndHealthComesBackUp() throws IOException {
    step("pause-redis", () -> {
      page.click("btn-pause-redis");
      page.waitUntil("the pause's answer", p -> p.text("action-answer").contains("Redis paused for 3 s"));
      page.waitUntil("Redis resumed in the event log", p -> p.text("events").contains("pause-redis: Redis resumed"));
      page.waitUntil("Redis health UP again", p -> "UP".equals(p.text("redis-health")));
    });
  }

  @Test
  @Order(6)
  void killingTheListenerShowsItStoppedThenLiveAgain() throws IOException {
    step("restart-listener", () -> {
      page.click("btn-restart-listener");
      page.waitUntil("the stop's answer", p -> p.text("action-answer").contains("CDC listener stopped for 3 s"));
      page.waitUntil("the listener started again in the event log",
          p -> p.text("events").contains("CDC listener started again"));
      page.waitUntil("the CDC listener LIVE again", p -> "LIVE".equals(p.text("cdc-state")));
    });
    page.screenshot(SCREENSHOT);
    assertThat(SCREENSHOT).isNotEmptyFile();
  }
}
