package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.ValueCodec;
import dev.veracache.spring.cache.CacheOptionsFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of the typed JSON codec of caches without a {@code value-type}. A value that encodes but
 * cannot be decoded is stored on every miss and refused on every read: each read, in every instance, reports it,
 * invalidates the key (cancelling whoever holds its fill lease) and runs the method again, so the cache never serves
 * it and its miss storms are no longer collapsed (R9). Common shapes of trusted values hit that: a record whose list
 * field holds {@code List.of(...)} or {@code stream().toList()}, or whose map field holds a {@code HashMap}: Jackson's
 * default typing writes the nested runtime class ({@code java.util.ImmutableCollections$ListN}, {@code HashMap}),
 * which the codec then does not trust. The top-level collection is copied into a trusted one; nested ones are not.
 */
class SpringCacheReviewTest {

  /** A cached value of the application (its package is trusted). */
  public record Order(long id, List<String> tags, Map<String, Object> attributes) {}

  private final ValueCodec<Object> codec = CacheOptionsFactory.typedJson(List.of("dev.veracache.spring"),
      getClass().getClassLoader());

  @Test
  void aTrustedRecordWhoseListFieldHoldsAnImmutableListRoundTrips() throws Exception {
    Order order = new Order(1, List.of("red", "large", "sale"), Map.of());
    assertThat(codec.decode(codec.encode(order))).isEqualTo(order);
  }

  @Test
  void aTrustedRecordWhoseMapFieldHoldsAHashMapRoundTrips() throws Exception {
    Map<String, Object> attributes = new HashMap<>();
    attributes.put("colour", "red");
    Order order = new Order(1, new java.util.ArrayList<>(List.of("red")), attributes);
    assertThat(codec.decode(codec.encode(order))).isEqualTo(order);
  }
}
