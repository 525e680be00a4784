package dev.veracache.demo;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The shop's SQL: the loaders and writers of the four strategies, the plain-SQL changes the demo makes behind the
 * caches' back, and the seed (only into empty tables, so a compose database keeps its rows across restarts).
 *
 * <p>Invariants: every change of a cached row increments its {@code version} (the caches and the CDC mapping fence
 * by it); the stock column is only ever changed by the stock flusher, except when a sale opens its own new item.
 */
public final class ShopDatabase implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ShopDatabase.class);
  private static final String[] CATEGORIES = {"books", "garden", "kitchen", "music", "toys", "tools"};

  private final HikariDataSource dataSource;
  private final JdbcTemplate jdbc;

  ShopDatabase(Environment environment) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(required(environment, "spring.datasource.url"));
    config.setUsername(environment.getProperty("spring.datasource.username", "root"));
    config.setPassword(environment.getProperty("spring.datasource.password", ""));
    config.setMaximumPoolSize(12);
    config.setPoolName("shop");
    this.dataSource = new HikariDataSource(config);
    this.jdbc = new JdbcTemplate(dataSource);
  }

  private static String required(Environment environment, String name) {
    String value = environment.getProperty(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException(name + " is not set: the demo needs the shop database");
    }
    return value;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /** Seeds {@code products} products (row, page, price) when {@code shop.product} is empty. */
  void seedIfEmpty(int products) {
    Long existing = jdbc.queryForObject("SELECT COUNT(*) FROM product", Long.class);
    if (existing != null && existing > 0) {
      log.info("shop database: {} products there already, not seeded", existing);
      return;
    }
    List<Object[]> rows = new ArrayList<>();
    List<Object[]> pages = new ArrayList<>();
    List<Object[]> prices = new ArrayList<>();
    for (long id = 1; id <= products; id++) {
      String category = CATEGORIES[(int) (id % CATEGORIES.length)];
      rows.add(new Object[] {id, "Product " + id, category});
      pages.add(new Object[] {id, "Product " + id, "All about product " + id + " (" + category + ")."});
      prices.add(new Object[] {id, 100 + (id * 37) % 9900});
    }
    jdbc.batchUpdate("INSERT INTO product (id, name, category, version) VALUES (?, ?, ?, 1)", rows);
    jdbc.batchUpdate("INSERT INTO product_page (id, title, body, version) VALUES (?, ?, ?, 1)", pages);
    jdbc.batchUpdate("INSERT INTO price (product_id, cents, version) VALUES (?, ?, 1)", prices);
    log.info("shop database: seeded {} products, pages and prices", products);
  }

  public int productCount() {
    Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM product", Integer.class);
    return n == null ? 0 : n;
  }

  /** The product, or null: the cache-aside loader. */
  public Product product(long id) {
    List<Product> found = jdbc.query("SELECT id, name, category, version FROM product WHERE id = ?",
        (rs, n) -> new Product(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)), id);
    return found.isEmpty() ? null : found.get(0);
  }

  /** The page, or null: the read-through loader. */
  public ProductPage page(long id) {
    List<ProductPage> found = jdbc.query("SELECT id, title, body, version FROM product_page WHERE id = ?",
        (rs, n) -> new ProductPage(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4)), id);
    return found.isEmpty() ? null : found.get(0);
  }

  /** The price, or null: the write-through loader. */
  public Price price(long productId) {
    List<Price> found = jdbc.query("SELECT product_id, cents, version FROM price WHERE product_id = ?",
        (rs, n) -> new Price(rs.getLong(1), rs.getLong(2), rs.getLong(3)), productId);
    return found.isEmpty() ? null : found.get(0);
  }

  /** The write-through writer: sets the price, increments its version, returns the committed row. */
  public Price writePrice(long productId, long cents) {
    int updated = jdbc.update("UPDATE price SET cents = ?, version = version + 1 WHERE product_id = ?", cents,
        productId);
    if (updated == 0) {
      throw new IllegalArgumentException("no price row for product " + productId);
    }
    return price(productId);
  }

  /** A change behind the application's back: plain SQL, no cache call (the CDC listener invalidates it). */
  public void renameBehindTheCachesBack(long id, String newName) {
    int updated = jdbc.update("UPDATE product SET name = ?, version = version + 1 WHERE id = ?", newName, id);
    if (updated == 0) {
      throw new IllegalArgumentException("productId " + id + ": no such product");
    }
  }

  /** A new item for a sale, its stock row at {@code quantity}: the item's number. */
  public long newSaleItem(long quantity) {
    Long last = jdbc.queryForObject("SELECT COALESCE(MAX(item), 0) FROM stock", Long.class);
    long item = (last == null ? 0 : last) + 1;
    jdbc.update("INSERT INTO stock (item, quantity) VALUES (?, ?)", item, quantity);
    return item;
  }

  /** The stock column of an item, or null when it has no row. */
  public Long stock(long item) {
    List<Long> found = jdbc.query("SELECT quantity FROM stock WHERE item = ?", (rs, n) -> rs.getLong(1), item);
    return found.isEmpty() ? null : found.get(0);
  }

  /** The applied table's outcome (APPLIED, RELEASED, REFUSED) of each of these sale ids the log has decided. */
  public java.util.Map<String, String> saleOutcomes(java.util.Collection<String> saleIds) {
    java.util.Map<String, String> outcomes = new java.util.HashMap<>();
    if (saleIds.isEmpty()) {
      return outcomes;
    }
    String marks = String.join(",", java.util.Collections.nCopies(saleIds.size(), "?"));
    jdbc.query("SELECT op_id, outcome FROM " + dev.veracache.StockOptions.DEFAULT_APPLIED_TABLE + " WHERE op_id IN ("
        + marks
        + ")", rs -> {
          outcomes.put(rs.getString(1), rs.getString(2));
        }, saleIds.toArray());
    return outcomes;
  }

  /** The stock flusher's writer: adds each item's units (negative: sold) inside the flusher's transaction. */
  static void addStock(java.sql.Connection connection, java.util.Map<String, Long> unitsByItem)
      throws java.sql.SQLException {
    try (var update = connection.prepareStatement("UPDATE stock SET quantity = quantity + ? WHERE item = ?")) {
      for (var e : unitsByItem.entrySet()) {
        update.setLong(1, e.getValue());
        update.setLong(2, Long.parseLong(e.getKey()));
        update.addBatch();
      }
      update.executeBatch();
    }
  }

  @Override
  public void close() {
    dataSource.close();
  }
}
