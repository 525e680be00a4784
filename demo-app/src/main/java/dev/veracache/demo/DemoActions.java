package dev.veracache.demo;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * The buttons that break things, each a real action on the real servers: a product renamed by plain SQL behind the
 * caches' back (and how long until the cache-aside read serves the new name), Redis paused, the CDC listener stopped
 * and restarted. The flash sale and the load generator are {@link FlashSale} and {@link LoadGenerator}.
 *
 * <p>Invariants: each action is appended to the {@link EventLog}; a paused Redis is resumed and a stopped listener is
 * restarted by a timer, never during shutdown (Redis is resumed at shutdown so that the servers can stop); one pause
 * and one listener restart at a time.
 */
@Component
public class DemoActions {

  static final int MAX_SECONDS = 60;
  static final long SQL_CHANGE_TIMEOUT_MILLIS = 30_000;
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  private final ShopDatabase database;
  private final ProductService products;
  private final EventLog events;
  private final DemoScheduler scheduler;
  private final ObjectProvider<DemoServers> embedded;
  private final CdcView cdc;
  private final Environment environment;
  private volatile boolean redisPaused;
  private volatile boolean listenerDown;
  private volatile boolean stopping;
  private volatile Map<String, Object> lastSqlChange;

  DemoActions(ShopDatabase database, ProductService products, EventLog events, DemoScheduler scheduler,
      ObjectProvider<DemoServers> embedded, CdcView cdc, Environment environment) {
    this.database = database;
    this.products = products;
    this.events = events;
    this.scheduler = scheduler;
    this.embedded = embedded;
    this.cdc = cdc;
    this.environment = environment;
  }

  /**
   * Renames a product by plain JDBC (name and version+1), then watches the cache-aside read until it serves the new
   * name: {@code lastSqlChange.visibleAfterMillis}.
   */
  public synchronized String sqlChange(Long productId) {
    int count = database.productCount();
    long id = productId != null ? productId : 1 + ThreadLocalRandom.current().nextInt(count);
    if (id < 1 || id > count) {
      throw new IllegalArgumentException("productId must be between 1 and " + count + ", was " + id);
    }
    products.find(id); // cached before the change, so the read below shows how the cache learns of it
    String newName = "Product " + id + " renamed at " + LocalTime.now(ZoneId.systemDefault()).format(CLOCK);
    database.renameBehindTheCachesBack(id, newName);
    long changed = System.nanoTime();
    Map<String, Object> change = new LinkedHashMap<>();
    change.put("productId", id);
    change.put("newName", newName);
    change.put("visibleAfterMillis", null);
    lastSqlChange = change;
    ScheduledFuture<?>[] watch = new ScheduledFuture<?>[1];
    watch[0] = scheduler.every(2, () -> {
      if (change != lastSqlChange) {
        watch[0].cancel(false); // a newer change is watched
        return;
      }
      long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - changed);
      Product cached = products.find(id);
      if (cached != null && newName.equals(cached.name())) {
        change.put("visibleAfterMillis", elapsed);
        events.add("sql-change: product " + id + " renamed by plain SQL; the cache-aside read served the new name "
            + "after " + elapsed + " ms");
        watch[0].cancel(false);
      } else if (elapsed > SQL_CHANGE_TIMEOUT_MILLIS) {
        events.add("sql-change: product " + id + ": the cache still served the old name after " + elapsed + " ms");
        watch[0].cancel(false);
      }
    });
    String text = "sql-change: UPDATE shop.product SET name = '" + newName + "', version = version + 1 WHERE id = "
        + id + " (plain JDBC, no cache call)";
    events.add(text);
    return text;
  }

  public Map<String, Object> lastSqlChange() {
    Map<String, Object> change = lastSqlChange;
    return change == null ? null : new LinkedHashMap<>(change);
  }

  /** Pauses Redis for {@code seconds}: SIGSTOP of the embedded server, or {@code CLIENT PAUSE} of an external one. */
  public synchronized String pauseRedis(int seconds) {
    checkSeconds("seconds", seconds);
    if (redisPaused) {
      throw new DemoConflictException("Redis is already paused");
    }
    if (stopping) {
      throw new DemoConflictException("the demo is stopping");
    }
    DemoServers servers = embedded.getIfAvailable();
    String how;
    if (servers != null) {
      servers.pauseRedis();
      how = "SIGSTOP to the embedded redis-server";
    } else {
      clientPause(seconds);
      how = "CLIENT PAUSE " + seconds * 1000L;
    }
    redisPaused = true;
    scheduler.after(TimeUnit.SECONDS.toMillis(seconds), this::resumeRedis);
    String text = "pause-redis: Redis paused for " + seconds + " s (" + how + "); reads fall back to the database";
    events.add(text);
    return text;
  }

  private void clientPause(int seconds) {
    RedisClient client = RedisClient.create(environment.getRequiredProperty("veracache.redis.uri"));
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.sync().clientPause(TimeUnit.SECONDS.toMillis(seconds));
    } finally {
      client.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  synchronized void resumeRedis() {
    if (!redisPaused) {
      return;
    }
    DemoServers servers = embedded.getIfAvailable();
    if (servers != null) {
      servers.resumeRedis();
    } // CLIENT PAUSE ends by itself
    redisPaused = false;
    events.add("pause-redis: Redis resumed");
  }

  public boolean redisPaused() {
    return redisPaused;
  }

  /** Stops the in-app CDC listener and starts a new one after {@code downSeconds} (from its stored position). */
  public synchronized String restartListener(int downSeconds) {
    checkSeconds("downSeconds", downSeconds);
    if (cdc.inApp() == null) {
      throw new DemoConflictException("the CDC listener runs in the cdc-sidecar service (veracache.cdc.enabled=false "
          + "here): restart that service to see the same (docker compose restart cdc-sidecar)");
    }
    if (listenerDown) {
      throw new DemoConflictException("the CDC listener is already stopped; it restarts by itself");
    }
    if (stopping) {
      throw new DemoConflictException("the demo is stopping");
    }
    cdc.stopInApp();
    listenerDown = true;
    scheduler.after(TimeUnit.SECONDS.toMillis(downSeconds), this::startListener);
    String text = "restart-listener: CDC listener stopped for " + downSeconds + " s; the caches' listener-staleness-"
        + "bound (" + ShopConfiguration.STALENESS_BOUND_SECONDS + " s) makes reads bypass Redis until it is back";
    events.add(text);
    return text;
  }

  private synchronized void startListener() {
    if (stopping || !listenerDown) {
      return;
    }
    cdc.startInApp();
    listenerDown = false;
    events.add("restart-listener: CDC listener started again; it resumes from its stored binlog position");
  }

  private static void checkSeconds(String name, int seconds) {
    if (seconds < 1 || seconds > MAX_SECONDS) {
      throw new IllegalArgumentException(name + " must be between 1 and " + MAX_SECONDS + ", was " + seconds);
    }
  }

  /**
   * The context is closing: no listener restart and no new pause from now on, and a paused Redis resumed at once, so
   * that the CDC listener (the first to stop) can flush to it and the servers can stop.
   */
  synchronized void beginShutdown() {
    stopping = true;
    if (redisPaused) {
      resumeRedis();
    }
  }

  /** Shutdown: no listener restart any more; Redis resumed so that it can stop. */
  synchronized void stop() {
    stopping = true;
    if (redisPaused) {
      resumeRedis();
    }
  }
}
