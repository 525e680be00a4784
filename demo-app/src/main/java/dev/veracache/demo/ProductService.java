package dev.veracache.demo;

import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;

/**
 * Cache-aside through Spring's cache abstraction: {@code @Cacheable(cacheNames = "products", sync = true)} on the
 * starter's cache manager (L1 Caffeine, L2 Redis, fenced fills, one load per key across instances), versioned by
 * {@code veracache.caches.products.version-property}, invalidated by the CDC listener (key {@code {id}} renders as
 * this method's key, {@code String.valueOf(id)}).
 */
@Service
public class ProductService {

  private final ShopDatabase database;

  public ProductService(ShopDatabase database) {
    this.database = database;
  }

  @Cacheable(cacheNames = ShopConfiguration.PRODUCTS, sync = true)
  public Product find(long id) {
    return database.product(id);
  }
}
