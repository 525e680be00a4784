package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.spring.autoconfigure.VeracacheProperties.CacheSettings;
import dev.veracache.spring.cache.CacheOptionsFactory;
import dev.veracache.spring.cache.VersionProperty;
import dev.veracache.spring.shop.Product;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Per-cache settings become the library's options, falling back to {@code cache-defaults}; a bad value names its
 * property; the codec of caches without a value type reads back only trusted classes.
 */
class CacheSettingsTest {

  private final CacheSettings defaults = new CacheSettings();
  private final ValueCodec<Object> codec = CacheOptionsFactory.typedJson(List.of("dev.veracache.spring.shop"),
      getClass().getClassLoader());
  private final CacheOptionsFactory factory = new CacheOptionsFactory(defaults, codec);

  @Test
  void aNegativeSizeFailsNamingTheProperty() {
    CacheSettings products = new CacheSettings();
    products.setL1MaximumSize(-1L);
    assertThatThrownBy(() -> factory.build("products", products, "veracache.caches.products"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("veracache.caches.products.l1-maximum-size=-1");
  }

  @Test
  void aBadDefaultIsReportedUnderCacheDefaults() {
    defaults.setLeaseWaitTimeout(Duration.ofSeconds(30)); // above the default lease ttl of 10 s
    assertThatThrownBy(() -> factory.build("orders", null, "veracache.caches.orders"))
        .hasMessageStartingWith("veracache.cache-defaults");
  }

  @Test
  void unsetSettingsFallBackToTheDefaultsThenToTheLibrary() {
    defaults.setTtl(Duration.ofMinutes(3));
    CacheSettings products = new CacheSettings();
    products.setNamespace("shop-products");
    products.setVersionProperty("version");
    CacheOptions<Object, Object> options = factory.build("products", products, "veracache.caches.products");
    assertThat(options.namespace()).isEqualTo("shop-products");
    assertThat(options.versioned()).isTrue();
    assertThat(factory.build("orders", null, "veracache.caches.orders").namespace()).isEqualTo("orders");
  }

  @Test
  void theUntypedCodecRoundTripsValuesListsAndBoxedNumbersExactly() throws Exception {
    Product product = new Product(1, "v1", 7);
    assertThat(codec.decode(codec.encode(product))).isEqualTo(product);
    assertThat(codec.decode(codec.encode(42L))).isEqualTo(42L).isInstanceOf(Long.class);
    assertThat(codec.decode(codec.encode(List.of(product, new Product(2, "w", 1)))))
        .isEqualTo(List.of(product, new Product(2, "w", 1)));
    assertThat(codec.decode(codec.encode(Map.of("a", product)))).isEqualTo(Map.of("a", product));
  }

  @Test
  void theUntypedCodecRefusesAClassOutsideTheTrustedPackages() {
    byte[] forged = "java.lang.ProcessBuilder\n{\"command\":[\"true\"]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThatThrownBy(() -> codec.decode(forged)).hasMessageContaining("java.lang.ProcessBuilder")
        .hasMessageContaining("veracache.trusted-packages");
    byte[] nested = ("java.util.ArrayList\n[[\"java.lang.ProcessBuilder\",{\"command\":[\"true\"]}]]")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThatThrownBy(() -> codec.decode(nested)).hasMessageContaining("ProcessBuilder");
  }

  @Test
  void aVersionPropertyThatIsNotANumberNamesTheCacheThePropertyAndTheClass() {
    VersionProperty version = new VersionProperty("products", "name");
    assertThatThrownBy(() -> version.applyAsLong(new Product(1, "v1", 1)))
        .hasMessageContaining("cache 'products'").hasMessageContaining("version-property 'name'")
        .hasMessageContaining(Product.class.getName()).hasMessageContaining("not an integral number");
    assertThat(new VersionProperty("products", "version").applyAsLong(new Product(1, "v1", 7))).isEqualTo(7);
  }
}
