package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The listener's batch goes to Redis as calls of up to 64 keys: every key a call changes must still reach every
 * instance's L1 through its tracking push (broadcast mode lists several keys in one push), across call boundaries, and
 * a key whose cached value is newer than the change is not written, so it stays.
 */
class InvalidationBatchL1ReviewIT extends RealServersTest {

  @Test
  void everyKeyOfABatchOfSeveralCallsLeavesEveryL1() {
    int keys = 130; // three calls: 64, 64, 2
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    for (long id = 1; id <= keys; id++) {
      long version = id == 70 ? 9 : 1;
      warmL1(jvm, cache, id, i -> new Product(i, "old", version));
    }

    List<KeyInvalidation> batch = new ArrayList<>();
    for (long id = 1; id <= keys; id++) {
      batch.add(new KeyInvalidation(namespace, Long.toString(id), 2, 60_000));
    }
    batch.add(new KeyInvalidation(namespace, "1", 3, 60_000)); // a key repeated in a later call
    try (RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.builder(redisServer.uri()).build())) {
      invalidator.invalidate(batch);
    }
    jvm.awaitPushesSoFar();

    for (long id = 1; id <= keys; id++) {
      if (id == 70) {
        assertThat(inL1(cache, id)).as("a value newer than the change is not written: no push").isTrue();
        assertThat(rawRecord(id)).startsWith("V:9:");
      } else {
        assertThat(inL1(cache, id)).as("key %d", id).isFalse();
        assertThat(rawRecord(id)).isEqualTo(id == 1 ? "P:3:0:0" : "P:2:0:0");
      }
    }
  }
}
