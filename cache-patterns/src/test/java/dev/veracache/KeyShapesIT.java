package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A row cached under several keys (by id and by name here, as a CDC mapping {@code ["{id}", "name:{name}"]} renders
 * them): one typed cache per key shape over one namespace, in one client. Redis keys are {@code ns:42} and
 * {@code ns:name:foo}; a change of either key in Redis (by the CDC listener, or anyone) drops exactly that entry
 * from the L1 of the shape it belongs to.
 */
class KeyShapesIT extends RealServersTest {

  private CacheAside<Long, Product> byId(Veracache jvm) {
    return jvm.cacheAside(productOptions().build());
  }

  private CacheAside<String, Product> byName(Veracache jvm) {
    return jvm.cacheAside(CacheOptions.<String, Product>builder(namespace, ValueCodec.json(Product.class))
        .version(Product::version).keyPrefix("name:").build());
  }

  private Product findByName(String name) throws SQLException {
    for (long id = 1; id <= 3; id++) {
      Product p = products.find(id);
      if (p != null && p.name().equals(name)) {
        return p;
      }
    }
    return null;
  }

  private static boolean inL1(CacheAside<String, ?> cache, String key) {
    return ((DefaultTieredCache<String, ?>) cache.tiered()).inL1(key);
  }

  @Test
  void twoKeyShapesOfOneNamespaceAreTwoTypedCachesAndAChangeOfEachRedisKeyDropsItsOwnL1Entry() throws Exception {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> byId = byId(jvm);
    CacheAside<String, Product> byName = byName(jvm);
    products.insert(1, "foo");

    warmL1(jvm, byId, 1, loader());
    warmL1Named(jvm, byName, "foo");
    assertThat(byName.get("foo", this::findByName).name()).isEqualTo("foo");
    assertThat(redisCli.get(namespace + ":1")).as("by-id Redis key").isNotNull();
    assertThat(redisCli.get(namespace + ":name:foo")).as("by-name Redis key, rendered as 'name:{name}'").isNotNull();

    // Someone else (the CDC listener, redis-cli) changes the by-name key only: only that L1 entry goes.
    redisCli.del(namespace + ":name:foo");
    jvm.awaitPushesSoFar();
    assertThat(inL1(byName, "foo")).as("by-name entry after its key changed").isFalse();
    assertThat(inL1(byId, 1)).as("by-id entry, whose key did not change").isTrue();

    // And the by-id key: its own L1 entry goes.
    warmL1Named(jvm, byName, "foo");
    redisCli.del(namespace + ":1");
    jvm.awaitPushesSoFar();
    assertThat(inL1(byId, 1)).as("by-id entry after its key changed").isFalse();
    assertThat(inL1(byName, "foo")).as("by-name entry, whose key did not change").isTrue();
  }

  @Test
  void aSecondCacheOfTheSameNamespaceAndKeyPrefixIsRefusedNamingBoth() {
    Veracache jvm = newInstance();
    byId(jvm);
    byName(jvm);
    assertThatThrownBy(() -> byName(jvm)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("namespace '" + namespace + "'").hasMessageContaining("keyPrefix 'name:'");
    assertThatThrownBy(() -> byId(jvm)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("namespace '" + namespace + "'").hasMessageContaining("keyPrefix");
  }

  @Test
  void overlappingKeyPrefixesAreRefused() {
    Veracache jvm = newInstance();
    byName(jvm);
    assertThatThrownBy(() -> jvm.cacheAside(CacheOptions.<String, Product>builder(namespace,
        ValueCodec.json(Product.class)).keyPrefix("name:x").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keyPrefix 'name:x' overlaps keyPrefix 'name:'");
  }

  @Test
  void aPlainKeyThatBeginsWithASiblingsPrefixIsRefusedAsItWouldShareItsRedisKey() {
    Veracache jvm = newInstance();
    CacheAside<String, Product> plain = jvm.cacheAside(CacheOptions.<String, Product>builder(namespace,
        ValueCodec.json(Product.class)).build());
    byName(jvm);
    assertThatThrownBy(() -> plain.get("name:foo", k -> null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'name:foo'").hasMessageContaining("keyPrefix of another cache")
        .hasMessageContaining(namespace + ":name:foo");
    assertThatThrownBy(() -> plain.invalidate("name:foo")).isInstanceOf(IllegalArgumentException.class);
    assertThat(plain.get("other", k -> null)).isNull();
  }

  @Test
  void keyShapesOfOneNamespaceMustAgreeOnTheListenerStalenessBound() {
    Veracache jvm = newInstance();
    jvm.cacheAside(productOptions().listenerStalenessBound(Duration.ofSeconds(5)).build());
    assertThatThrownBy(() -> byName(jvm)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("listenerStalenessBound").hasMessageContaining("PT5S");
  }

  @Test
  void aBadKeyPrefixIsRefusedNamingIt() {
    assertThatThrownBy(() -> CacheOptions.<String, Product>builder("ns", ValueCodec.json(Product.class))
        .keyPrefix("by sku")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'by sku'");
  }

  private void warmL1Named(Veracache jvm, CacheAside<String, Product> cache, String name) throws Exception {
    cache.get(name, this::findByName);
    jvm.awaitPushesSoFar();
    cache.get(name, this::findByName);
    assertThat(inL1(cache, name)).as("in L1 after warming").isTrue();
  }
}
