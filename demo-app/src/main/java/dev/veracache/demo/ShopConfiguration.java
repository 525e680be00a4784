package dev.veracache.demo;

import dev.veracache.CacheOptions;
import dev.veracache.FlashSaleStock;
import dev.veracache.ReadThroughCache;
import dev.veracache.StockOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.WriteThroughCache;
import dev.veracache.cdc.InvalidationMappings;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.io.ClassPathResource;

/**
 * The shop's caches on the starter's {@link Veracache} client, one per strategy:
 * <ul>
 *   <li>{@value #PRODUCTS}: cache-aside, the starter's {@code @Cacheable} cache ({@link ProductService});</li>
 *   <li>{@value #PAGES}: read-through ({@link ReadThroughCache}) over {@code shop.product_page}. Its own table and
 *       namespace rather than a second key shape of {@code products}: the shapes of one namespace share its meters,
 *       and the page would then show the products' numbers as its own;</li>
 *   <li>{@value #PRICES}: write-through ({@link WriteThroughCache}), versioned, over {@code shop.price};</li>
 *   <li>{@value #STOCK}: the flash sale's stock, written behind ({@link FlashSaleStock}, {@link StockFlusherLifecycle}).
 *   </li>
 * </ul>
 *
 * <p>Invariants: the three CDC-mapped namespaces (one mapping file, {@value #MAPPINGS}) set the same
 * {@code listenerStalenessBound} ({@value #STALENESS_BOUND_SECONDS} s, as {@code veracache.caches.products}), so a
 * stopped listener keeps their staleness bounded; the sale's topics exist before the stock is created.
 */
@Configuration(proxyBeanMethods = false)
public class ShopConfiguration {

  public static final String PRODUCTS = "products";
  public static final String PAGES = "pages";
  public static final String PRICES = "prices";
  public static final String STOCK = "stock";
  public static final String MAPPINGS = "cdc/shop-mappings.yml";
  static final long STALENESS_BOUND_SECONDS = 2;
  /** As veracache.cache-defaults.l1-ttl: short, so that the page shows L2 hits too. */
  static final Duration L1_TTL = Duration.ofSeconds(5);

  @Bean(destroyMethod = "close")
  ShopDatabase shopDatabase(Environment environment, DemoProperties demo) {
    ShopDatabase database = new ShopDatabase(environment);
    try {
      database.seedIfEmpty(demo.products());
      return database;
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }

  /** The CDC listener's mappings (the in-app listener; the sidecar mounts the same file in compose). */
  @Bean
  InvalidationMappings shopMappings() {
    try (InputStream in = new ClassPathResource(MAPPINGS).getInputStream()) {
      return InvalidationMappings.fromYaml(in, "classpath:" + MAPPINGS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the bundled CDC mappings classpath:" + MAPPINGS + ": "
          + e.getMessage(), e);
    }
  }

  @Bean
  ReadThroughCache<Long, ProductPage> pages(Veracache veracache, ShopDatabase database) {
    return veracache.readThrough(CacheOptions.<Long, ProductPage>builder(PAGES, ValueCodec.json(ProductPage.class))
        .version(ProductPage::version).l1Ttl(L1_TTL).listenerStalenessBound(Duration.ofSeconds(STALENESS_BOUND_SECONDS)).build(),
        database::page);
  }

  @Bean
  WriteThroughCache<Long, Price> prices(Veracache veracache, ShopDatabase database) {
    return veracache.writeThrough(CacheOptions.<Long, Price>builder(PRICES, ValueCodec.json(Price.class))
        .version(Price::version).l1Ttl(L1_TTL).listenerStalenessBound(Duration.ofSeconds(STALENESS_BOUND_SECONDS)).build(),
        database::price, new dev.veracache.CacheWriter<>() {
          @Override
          public Price write(Long key, Price value) {
            return database.writePrice(key, value.cents());
          }

          @Override
          public void delete(Long key) {
            throw new UnsupportedOperationException("the demo never deletes a price");
          }
        });
  }

  @Bean
  SaleLog saleLog(DemoProperties demo) {
    return SaleLog.create(demo);
  }

  @Bean
  StockOptions stockOptions(SaleLog saleLog, DemoProperties demo) {
    return StockOptions.builder(STOCK, demo.kafka().bootstrapServers(), saleLog.topic()).build();
  }

  /** Closed with the client (after the stock flusher and the sale's buyers stopped). */
  @Bean
  FlashSaleStock flashSaleStock(Veracache veracache, StockOptions options) {
    return veracache.flashSaleStock(options);
  }

  @Bean
  StockFlusherLifecycle stockFlusher(Veracache veracache, StockOptions options, ShopDatabase database) {
    return new StockFlusherLifecycle(veracache, options, database);
  }
}
