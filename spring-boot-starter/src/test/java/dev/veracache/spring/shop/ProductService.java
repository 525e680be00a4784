package dev.veracache.spring.shop;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.CachePut;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What a service of a Spring Boot application looks like with the starter: plain cache annotations over plain JDBC.
 * Two caches: {@code products} ({@code @Cacheable}, sync = false) and {@code productsSync} ({@code sync = true}).
 * {@link #holdNextLoadAfterRead} parks the next load between its database read and its return, so a test can commit
 * and invalidate in that window (race R1) without hoping for it.
 */
public class ProductService {

  private final JdbcTemplate jdbc;
  private final String table;
  private final AtomicInteger loads = new AtomicInteger();
  private volatile CountDownLatch arrived;
  private volatile CountDownLatch release;
  private volatile CountDownLatch held;

  public ProductService(JdbcTemplate jdbc, String table) {
    this.jdbc = jdbc;
    this.table = table;
  }

  @Cacheable("products")
  public Product find(long id) {
    return load(id);
  }

  /** A cached method that throws when the row does not exist. */
  @Cacheable("products")
  public Product findOrFail(long id) {
    Product row = load(id);
    if (row == null) {
      throw new IllegalArgumentException("no product " + id);
    }
    return row;
  }

  @Cacheable(cacheNames = "productsSync", sync = true)
  public Product findSync(long id) {
    return load(id);
  }

  @CachePut(cacheNames = "products", key = "#p0")
  public Product rename(long id, String name) {
    jdbc.update("UPDATE " + table + " SET name = ?, version = version + 1 WHERE id = ?", name, id);
    return readRow(id);
  }

  @CacheEvict("products")
  public void evict(long id) {}

  @CacheEvict(cacheNames = "products", allEntries = true)
  public void evictAll() {}

  /** How many times a method ran its database read (a cache miss). */
  public int loads() {
    return loads.get();
  }

  /** The next load parks after its database read until {@link #releaseHeldLoad}; returns its arrival latch. */
  public CountDownLatch holdNextLoadAfterRead() {
    held = new CountDownLatch(1);
    arrived = new CountDownLatch(1);
    release = held;
    return arrived;
  }

  public void releaseHeldLoad() {
    held.countDown();
  }

  private Product load(long id) {
    loads.incrementAndGet();
    Product row = readRow(id);
    CountDownLatch hold = release;
    if (hold != null) {
      release = null;
      arrived.countDown();
      try {
        if (!hold.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("held load never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return row;
  }

  private Product readRow(long id) {
    return jdbc.query("SELECT id, name, version FROM " + table + " WHERE id = ?",
        rs -> rs.next() ? new Product(rs.getLong(1), rs.getString(2), rs.getLong(3)) : null, id);
  }
}
