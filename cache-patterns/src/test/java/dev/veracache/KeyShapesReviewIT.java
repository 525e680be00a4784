package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of several key shapes in one namespace ({@code CacheOptions.keyPrefix}): a push reaches exactly the
 * shape its key belongs to, even when two shapes hold the same suffix; and a key the plain shape cached before a
 * sibling shape existed is not served once that sibling makes it the sibling's key.
 */
class KeyShapesReviewIT extends RealServersTest {

  private static final ValueCodec<String> TEXT = ValueCodec.json(String.class);

  private CacheAside<String, String> plain(Veracache jvm) {
    return jvm.cacheAside(CacheOptions.<String, String>builder(namespace, TEXT).build());
  }

  private CacheAside<String, String> byName(Veracache jvm) {
    return jvm.cacheAside(CacheOptions.<String, String>builder(namespace, TEXT).keyPrefix("name:").build());
  }

  private static boolean inL1(CacheAside<String, ?> cache, String key) {
    return ((DefaultTieredCache<String, ?>) cache.tiered()).inL1(key);
  }

  /** Two reads: the first one's own fill comes back as a push (scripts ignore NOLOOP) and drops its entry. */
  private static void warm(Veracache jvm, CacheAside<String, String> cache, String key, String value) {
    cache.get(key, k -> value);
    jvm.awaitPushesSoFar();
    cache.get(key, k -> value);
    assertThat(inL1(cache, key)).as("'" + key + "' in L1 after warming").isTrue();
  }

  @Test
  void aPushForAPrefixedKeyDropsOnlyThatShapesEntryThoughThePlainShapeHoldsTheSameSuffix() {
    Veracache jvm = newInstance();
    CacheAside<String, String> plain = plain(jvm);
    CacheAside<String, String> byName = byName(jvm);
    warm(jvm, plain, "foo", "row with id foo");
    warm(jvm, byName, "foo", "row named foo");

    redisCli.del(namespace + ":name:foo"); // the CDC listener invalidates the by-name key
    jvm.awaitPushesSoFar();
    assertThat(inL1(byName, "foo")).as("by-name entry after its key changed").isFalse();
    assertThat(inL1(plain, "foo")).as("plain entry 'foo', whose key (" + namespace + ":foo) did not change").isTrue();

    warm(jvm, byName, "foo", "row named foo");
    redisCli.del(namespace + ":foo");
    jvm.awaitPushesSoFar();
    assertThat(inL1(plain, "foo")).as("plain entry after its key changed").isFalse();
    assertThat(inL1(byName, "foo")).as("by-name entry, whose key did not change").isTrue();
    assertThat(byName.get("foo", k -> "reloaded")).isEqualTo("row named foo");
  }

  @Test
  void aPlainKeyCachedBeforeASiblingShapeWasAddedIsRefusedOnceTheSiblingExists() {
    Veracache jvm = newInstance();
    CacheAside<String, String> plain = plain(jvm);
    warm(jvm, plain, "name:foo", "row with id 'name:foo'");

    byName(jvm); // added at run time: from now on '<ns>:name:foo' is the by-name cache's key

    assertThat(inL1(plain, "name:foo")).as("plain L1 entry of a key that is now a sibling's").isFalse();
    assertThatThrownBy(() -> plain.get("name:foo", k -> "loaded")).as("a read of it, refused like any such key")
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPrefix of another cache");
  }

  @Test
  @Disabled("Not fixed: a client cannot tell which shape wrote a Redis record. A plain shape that cached a key "
      + "beginning with a sibling's prefix before that sibling existed (in this client, another client or an earlier "
      + "deployment) leaves a record the sibling then reads as its own until it is invalidated or expires. The key "
      + "encoders of a namespace's shapes must produce disjoint keys (README, 'Several key shapes'); the client "
      + "refuses such plain keys only while both shapes exist in it.")
  void aSiblingShapeAddedLaterDoesNotServeTheRecordThePlainShapeCachedUnderItsKey() {
    Veracache jvm = newInstance();
    CacheAside<String, String> plain = plain(jvm);
    plain.get("name:foo", k -> "row with id 'name:foo'");

    CacheAside<String, String> byName = byName(jvm);
    assertThat(byName.get("foo", k -> "row named foo")).isEqualTo("row named foo");
  }
}
