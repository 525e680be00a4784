package dev.veracache.demo;

import dev.veracache.ReadThroughCache;
import dev.veracache.WriteThroughCache;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The built-in load generator: {@value #READERS} reader threads over the three read strategies (products cache-aside,
 * pages read-through, prices write-through), skewed towards low ids so that hot keys stay in L1, and one writer
 * thread making a price write-through every {@value #WRITE_EVERY_MILLIS} ms and, every fourth time, a product rename by
 * plain SQL (invalidated by the CDC listener). Gentle on purpose (a pause after each read): the demo shares two cores
 * with its servers.
 *
 * <p>Invariant: every read goes through a cache and every write through the application's real write paths, so the
 * page's numbers are the caches' own meters; this class counts only its own operations (for its rates).
 */
@Component
public class LoadGenerator {

  static final int READERS = 2;
  static final long WRITE_EVERY_MILLIS = 250;
  private static final Logger log = LoggerFactory.getLogger(LoadGenerator.class);
  private static final long READ_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(500);

  private final ProductService products;
  private final ReadThroughCache<Long, ProductPage> pages;
  private final WriteThroughCache<Long, Price> prices;
  private final ShopDatabase database;
  private final EventLog events;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  /** Reads and writes that threw (the database refused or timed out): shown on the page, logged. */
  private final AtomicLong failed = new AtomicLong();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running;
  private volatile boolean stopping;
  private long lastSampleNanos = System.nanoTime();
  private long lastReads;
  private long lastWrites;
  private volatile double readsPerSecond;
  private volatile double writesPerSecond;

  LoadGenerator(ProductService products, ReadThroughCache<Long, ProductPage> pages,
      WriteThroughCache<Long, Price> prices, ShopDatabase database, EventLog events) {
    this.products = products;
    this.pages = pages;
    this.prices = prices;
    this.database = database;
    this.events = events;
  }

  public synchronized String set(boolean on) {
    if (on == running) {
      return "load generator already " + (on ? "on" : "off");
    }
    if (on) {
      if (stopping) {
        throw new DemoConflictException("the demo is stopping");
      }
      running = true;
      int count = database.productCount();
      for (int i = 0; i < READERS; i++) {
        threads.add(start("demo-load-reader-" + (i + 1), () -> readLoop(count)));
      }
      threads.add(start("demo-load-writer", () -> writeLoop(count)));
    } else {
      stopThreads();
    }
    String text = "load generator " + (on ? "on: " + READERS + " readers over products, pages and prices, a price "
        + "write every " + WRITE_EVERY_MILLIS + " ms and a product renamed by SQL every " + 4 * WRITE_EVERY_MILLIS
        + " ms" : "off");
    events.add(text);
    return text;
  }

  private static Thread start(String name, Runnable loop) {
    Thread t = new Thread(loop, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Ids skewed towards 1 (u^2): the first tenth of the ids get about a third of the reads. */
  private static long key(int count) {
    double u = ThreadLocalRandom.current().nextDouble();
    return 1 + Math.min(count - 1, (long) (count * u * u));
  }

  private void readLoop(int count) {
    int strategy = 0;
    while (running) {
      long id = key(count);
      try {
        switch (strategy++ % 3) {
          case 0 -> products.find(id);
          case 1 -> pages.get(id);
          default -> prices.get(id);
        }
        reads.incrementAndGet();
      } catch (RuntimeException e) { // the database refused or timed out
        failed("read", id, e);
      }
      LockSupport.parkNanos(READ_PAUSE_NANOS);
    }
  }

  private void writeLoop(int count) {
    long n = 0;
    while (running) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(WRITE_EVERY_MILLIS));
      if (!running) {
        return;
      }
      long id = key(count);
      try {
        if (++n % 4 == 0) {
          database.renameBehindTheCachesBack(id, "Product " + id + " (load " + n + ")");
        } else {
          prices.put(id, new Price(id, 100 + ThreadLocalRandom.current().nextLong(9900), 0));
        }
        writes.incrementAndGet();
      } catch (RuntimeException e) {
        failed("write", id, e);
      }
    }
  }

  /** Counts a failed operation; logs the first and then every hundredth, so a database outage does not flood the log. */
  private void failed(String operation, long id, RuntimeException e) {
    long n = failed.incrementAndGet();
    if (n == 1 || n % 100 == 0) {
      log.warn("load generator {} of product {} failed ({} failed so far): {}", operation, id, n, e.toString());
    }
  }

  private void stopThreads() {
    running = false;
    for (Thread t : threads) {
      LockSupport.unpark(t);
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    threads.clear();
  }

  /** Called once a second: the rates of the last second. */
  synchronized void sample() {
    long now = System.nanoTime();
    double seconds = (now - lastSampleNanos) / 1e9;
    if (seconds <= 0) {
      return;
    }
    long r = reads.get();
    long w = writes.get();
    readsPerSecond = (r - lastReads) / seconds;
    writesPerSecond = (w - lastWrites) / seconds;
    lastReads = r;
    lastWrites = w;
    lastSampleNanos = now;
  }

  public Map<String, Object> snapshot() {
    Map<String, Object> load = new LinkedHashMap<>();
    load.put("running", running);
    load.put("readsPerSecond", Math.round(readsPerSecond * 10) / 10.0);
    load.put("writesPerSecond", Math.round(writesPerSecond * 10) / 10.0);
    load.put("failed", failed.get());
    return load;
  }

  /** Shutdown: stops the threads for good. */
  synchronized void stop() {
    stopping = true;
    if (running) {
      stopThreads();
    }
  }
}
