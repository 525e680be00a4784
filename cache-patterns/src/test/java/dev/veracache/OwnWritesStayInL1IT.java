package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.CacheHooks;
import dev.veracache.testing.L1Peek;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * This client's own fills and sets stay in its L1, although Redis 6.2 and 7.0 push its own script writes back to it
 * (the push drops the entry, and the value is re-read into L1 under a fresh ticket); anyone else's write still drops
 * them, including one that lands while the re-read is in flight.
 */
class OwnWritesStayInL1IT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);

  @Test
  void anOwnFillIsBackInL1AfterItsOwnPushDroppedIt() throws Exception {
    Product v1 = products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, loader()); // a miss: loaded and filled
    jvm.awaitPushesSoFar(); // the fill's own push has been applied: it dropped the L1 entry

    await().atMost(WITHIN).until(() -> inL1(cache, 1L));
    assertThat(cache.get(1L, loader())).isEqualTo(v1);
    assertThat(counter(jvm, "veracache.gets", "level", "l1", "result", "hit")).isEqualTo(1);
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "hit")).isZero();
    assertThat(counter(jvm, "veracache.l1.readmissions", "result", "stored")).isEqualTo(1);
  }

  @Test
  void anOwnSetIsBackInL1AfterItsOwnPushDroppedIt() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, loader());
    await().atMost(WITHIN).until(() -> inL1(cache, 1L));

    Product v2 = products.update(1, "v2");
    assertThat(cache.tiered().put(1L, v2)).isTrue();
    jvm.awaitPushesSoFar();

    await().atMost(WITHIN).until(() -> v2.equals(L1Peek.peek(cache.tiered(), 1L).value()));
    assertThat(counter(jvm, "veracache.l1.readmissions", "result", "stored")).isEqualTo(2);
  }

  @Test
  void anotherInstancesWriteStillDropsAnOwnFillFromL1() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    a.get(1L, loader());
    await().atMost(WITHIN).until(() -> inL1(a, 1L));

    Product v2 = products.update(1, "v2");
    b.invalidate(1L, v2.version());
    await().atMost(WITHIN).until(() -> !inL1(a, 1L));
    jvmA.awaitPushesSoFar();

    assertThat(inL1(a, 1L)).as("a foreign write's push brings nothing back").isFalse();
    assertThat(counter(jvmA, "veracache.l1.readmissions", "result", "stored")).isEqualTo(1);
    assertThat(a.get(1L, loader())).isEqualTo(v2);
  }

  @Test
  void aChangeThatLandsWhileTheReadmissionIsInFlightWins() throws Exception {
    Product v1 = products.insert(1, "v1");
    Gate readmission = new Gate();
    Veracache jvmA = newInstance();
    Veracache jvmB = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().hooks(new CacheHooks() {
      @Override
      public void beforeL1Readmission(String redisKey) {
        readmission.hold();
      }
    }).build());
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    assertThat(a.get(1L, loader())).isEqualTo(v1);
    readmission.awaitArrival(); // the re-read found v1 in Redis and is about to put it back into L1

    Product v2 = products.update(1, "v2");
    b.invalidate(1L, v2.version());
    jvmA.awaitPushesSoFar(); // the invalidation's push has reached instance A
    readmission.open();

    await().atMost(WITHIN).until(() -> counter(jvmA, "veracache.l1.readmissions", "result", "not_stored")
        + counter(jvmA, "veracache.l1.readmissions", "result", "stored") == 1);
    assertThat(inL1(a, 1L)).as("v1, overtaken by the invalidation, is not put back").isFalse();
    assertThat(counter(jvmA, "veracache.l1.readmissions", "result", "not_stored")).isEqualTo(1);
    assertThat(a.get(1L, loader())).isEqualTo(v2);
  }
}
