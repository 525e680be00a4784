package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.testing.L1Peek;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link L1Peek}, the testing accessor the chaos comparison uses: it shows L1 as it is (a value, a cached "not found",
 * nothing), and never loads, asks Redis or counts a read.
 */
class L1PeekIT extends RealServersTest {

  @Test
  void aPeekShowsTheL1EntryWithoutLoadingAskingRedisOrCounting() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    AtomicInteger loads = new AtomicInteger();
    CacheLoader<Long, Product> counting = id -> {
      loads.incrementAndGet();
      return products.find(id);
    };

    assertThat(L1Peek.peek(cache.tiered(), 1L).present()).as("nothing read yet").isFalse();
    assertThat(rawRecord(1)).as("the peek asked Redis for nothing, so nothing was filled").isNull();

    warmL1(jvm, cache, 1L, counting);
    int loadsBefore = loads.get();
    double hitsBefore = counter(jvm, "veracache.gets", "level", "l1", "result", "hit");
    double missesBefore = counter(jvm, "veracache.gets", "level", "l1", "result", "miss");

    L1Peek.Entry<Product> entry = L1Peek.peek(cache.tiered(), 1L);

    assertThat(entry.present()).isTrue();
    assertThat(entry.value()).isEqualTo(new Product(1, "v1", 1));
    assertThat(loads.get()).as("loads").isEqualTo(loadsBefore);
    assertThat(counter(jvm, "veracache.gets", "level", "l1", "result", "hit")).as("L1 hits counted")
        .isEqualTo(hitsBefore);
    assertThat(counter(jvm, "veracache.gets", "level", "l1", "result", "miss")).as("L1 misses counted")
        .isEqualTo(missesBefore);
  }

  @Test
  void aCachedNotFoundIsShownAsSuch() {
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());

    warmL1(jvm, cache, 2L, loader()); // no row 2: "not found" cached in Redis, then in L1

    L1Peek.Entry<Product> entry = L1Peek.peek(cache.tiered(), 2L);
    assertThat(entry.present()).isTrue();
    assertThat(entry.notFound()).isTrue();
    assertThat(L1Peek.peek(cache.tiered(), 3L)).as("a key never read").isEqualTo(new L1Peek.Entry<>(false, null));
  }

  @Test
  void aCacheWithoutL1ShowsNothingAndAForeignCacheIsRefusedByName() throws Exception {
    products.insert(4, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> noL1 = jvm.cacheAside(productOptions().l1Enabled(false).build());
    noL1.get(4L, loader());
    noL1.get(4L, loader());
    assertThat(L1Peek.peek(noL1.tiered(), 4L).present()).isFalse();

    TieredCache<Long, Product> foreign = new TieredCache<>() {
      @Override
      public String namespace() {
        return "elsewhere";
      }

      @Override
      public Product get(Long key, CacheLoader<? super Long, ? extends Product> loader) {
        throw new UnsupportedOperationException();
      }

      @Override
      public SplitRead<Product> beginRead(Long key) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void invalidate(Long key) {}

      @Override
      public void invalidateAll() {}

      @Override
      public void invalidate(Long key, long version) {}

      @Override
      public void invalidateDeleted(Long key, long deletedVersion) {}

      @Override
      public boolean put(Long key, Product value) {
        return false;
      }
    };
    assertThatThrownBy(() -> L1Peek.peek(foreign, 4L)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("namespace elsewhere").hasMessageContaining("not a cache made by Veracache");
  }
}
