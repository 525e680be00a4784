package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.internal.RedisRecord;
import dev.veracache.testing.CacheHooks;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A {@link CacheHooks} callback that throws, at each point where one runs, leaves nothing behind: no fill lease held
 * in Redis, no single flight or L1 read ticket open, and no old value cached after a committed write. The next read
 * works at once. Leases live a minute here, so a lease left behind would show as a live lease in the record and as a
 * wait of the next read (counted), never as a slower test.
 */
class ThrowingHooksIT extends RealServersTest {

  /** What the armed hook throws. */
  static final class HookFailure extends RuntimeException {
    HookFailure(String point) {
      super("hook " + point + " failed on purpose");
    }
  }

  /** Throws once at the named point, then behaves; counts lease waits. */
  static final class ThrowOnce implements CacheHooks {
    final String point;
    final AtomicBoolean armed = new AtomicBoolean(true);
    final AtomicInteger leaseWaits = new AtomicInteger();
    final Gate afterLoadGate;

    ThrowOnce(String point) {
      this(point, null);
    }

    ThrowOnce(String point, Gate afterLoadGate) {
      this.point = point;
      this.afterLoadGate = afterLoadGate;
    }

    private void at(String here) {
      if (here.equals(point) && armed.compareAndSet(true, false)) {
        throw new HookFailure(here);
      }
    }

    @Override
    public void afterRedisRead(String redisKey) {
      at("afterRedisRead");
    }

    @Override
    public void afterLoad(String redisKey) {
      if (afterLoadGate != null) {
        afterLoadGate.hold();
      }
      at("afterLoad");
    }

    @Override
    public void beforeVersionedSet(String redisKey, long version) {
      at("beforeVersionedSet");
    }

    @Override
    public void beforeLeaseWait(String redisKey) {
      leaseWaits.incrementAndGet();
      at("beforeLeaseWait");
    }

    @Override
    public void fenceDecided(String redisKey, boolean accepted) {
      at("fenceDecided");
    }
  }

  private CacheOptions.Builder<Long, Product> options(CacheHooks hooks) {
    return productOptions().leaseTtl(Duration.ofMinutes(1)).tombstoneTtl(Duration.ofMinutes(2))
        .leaseWaitTimeout(Duration.ofSeconds(20)).hooks(hooks);
  }

  /** No read of the key still holds an L1 ticket. */
  private static void assertNoTicketLeft(CacheAside<Long, Product> cache, long id) {
    assertThat(((DefaultTieredCache<Long, Product>) cache.tiered()).l1ReadsInFlight(id)).as("L1 tickets held")
        .isZero();
  }

  /** No live fill lease is recorded for the key (absent, a value, or a tombstone without a lease). */
  private void assertNoLeaseLeft(long id) {
    byte[] raw = redisCli.get(redisKey(id));
    if (raw != null) {
      assertThat(RedisRecord.parse(raw).leaseRecorded()).as("a lease left in '%s'", rawRecord(id)).isFalse();
    }
  }

  @Test
  void aThrowingAfterLoadReleasesTheLeaseAndTheNextReadFillsAtOnce() throws Exception {
    products.insert(1, "one");
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("afterLoad");
    CacheAside<Long, Product> cache = jvm.cacheAside(options(hooks).build());

    assertThatThrownBy(() -> cache.get(1L, loader())).isInstanceOf(HookFailure.class);
    assertNoLeaseLeft(1);
    assertNoTicketLeft(cache, 1);

    assertThat(cache.get(1L, loader()).name()).isEqualTo("one");
    assertThat(hooks.leaseWaits).as("the next read waited for a lease").hasValue(0);
    assertThat(counter(jvm, "veracache.fills", "result", "stored")).as("the next read filled").isEqualTo(1);
    assertThat(rawRecord(1)).startsWith("V:1:");
  }

  @Test
  void aThrowingFenceDecidedAfterAFillLeavesNoLeaseAndTheNextReadHitsRedis() throws Exception {
    products.insert(2, "two");
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("fenceDecided");
    CacheAside<Long, Product> cache = jvm.cacheAside(options(hooks).l1Enabled(false).build());

    assertThatThrownBy(() -> cache.get(2L, loader())).isInstanceOf(HookFailure.class);
    assertNoLeaseLeft(2);

    assertThat(cache.get(2L, loader()).name()).isEqualTo("two");
    assertThat(hooks.leaseWaits).hasValue(0);
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "hit")).isEqualTo(1);
  }

  @Test
  void aThrowingAfterRedisReadLeavesNoFlightOrTicketAndTheNextReadIsServed() throws Exception {
    products.insert(3, "three");
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("afterRedisRead");
    CacheAside<Long, Product> cache = jvm.cacheAside(options(hooks).build());
    // Another instance fills Redis, so this instance's first read is an L2 hit, where the hook runs (an own fill would
    // come back into this L1 after its push, and a re-read in flight would hold a ticket).
    newInstance().cacheAside(options(CacheHooks.NONE).build()).get(3L, loader());

    assertThatThrownBy(() -> cache.get(3L, loader())).isInstanceOf(HookFailure.class);
    assertNoTicketLeft(cache, 3);
    assertThat(cache.get(3L, loader()).name()).as("the next read, not joined to the failed one").isEqualTo("three");
    products.update(3, "three, changed");
    cache.invalidate(3L); // a flight or ticket left open would keep the old answer

    assertThat(cache.get(3L, loader()).name()).isEqualTo("three, changed");
    assertThat(hooks.leaseWaits).hasValue(0);
    jvm.awaitPushesSoFar();
    warmL1(jvm, cache, 3, loader());
  }

  @Test
  void aThrowingBeforeLeaseWaitHoldsNothingAndTheNextReadGetsTheOtherFill() throws Exception {
    products.insert(4, "four");
    Gate filling = new Gate();
    CacheAside<Long, Product> holder = newInstance().cacheAside(options(new ThrowOnce("none", filling)).build());
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("beforeLeaseWait");
    CacheAside<Long, Product> waiter = jvm.cacheAside(options(hooks).build());

    CompletableFuture<Product> fill = CompletableFuture.supplyAsync(() -> holder.get(4L, loader()));
    filling.awaitArrival(); // the holder has the lease and is parked before its fill
    assertThatThrownBy(() -> waiter.get(4L, loader())).isInstanceOf(HookFailure.class);
    assertNoTicketLeft(waiter, 4);
    filling.open();
    assertThat(fill.get(10, TimeUnit.SECONDS).name()).isEqualTo("four");

    assertThat(waiter.get(4L, loader()).name()).isEqualTo("four");
    assertThat(hooks.leaseWaits).as("only the throwing read met a lease").hasValue(1);
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "hit")).as("served the holder's fill")
        .isEqualTo(1);
    assertNoLeaseLeft(4);
  }

  @Test
  void aThrowingBeforeVersionedSetLeavesNoOldValueCached() throws Exception {
    products.insert(5, "five");
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("beforeVersionedSet");
    WriteThroughCache<Long, Product> cache = jvm.writeThrough(options(hooks).build(), loader(),
        productWriter());
    assertThat(cache.get(5L).name()).isEqualTo("five"); // version 1 cached in Redis and L1

    assertThatThrownBy(() -> cache.put(5L, new Product(5, "five, changed", 0))).isInstanceOf(
        HookFailure.class);
    assertThat(rawRecord(5)).as("the committed write's version fences the key").doesNotStartWith("V:1:");

    assertThat(cache.get(5L).name()).as("read after the committed write").isEqualTo("five, changed");
  }

  @Test
  void aThrowingFenceDecidedAfterAVersionedSetKeepsTheNewValue() throws Exception {
    products.insert(6, "six");
    Veracache jvm = newInstance();
    ThrowOnce hooks = new ThrowOnce("none");
    WriteThroughCache<Long, Product> cache = jvm.writeThrough(options(hooks).build(), loader(),
        productWriter());
    cache.get(6L);
    ThrowOnce throwing = new ThrowOnce("fenceDecided");
    WriteThroughCache<Long, Product> other = newInstance().writeThrough(options(throwing).build(), loader(),
        productWriter());

    assertThatThrownBy(() -> other.put(6L, new Product(6, "six, changed", 0))).isInstanceOf(
        HookFailure.class);

    assertThat(other.get(6L).name()).isEqualTo("six, changed");
    jvm.awaitPushesSoFar();
    assertThat(cache.get(6L).name()).as("another instance").isEqualTo("six, changed");
    assertNoLeaseLeft(6);
  }
}
