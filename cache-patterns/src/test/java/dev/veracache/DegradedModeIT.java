package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Redis down, paused or refusing: reads are served from the database, and everything recovers by itself. */
class DegradedModeIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(15);

  @Test
  void readsGoToTheLoaderWhileRedisIsDownAndUseRedisAgainAfterItReturns() throws Exception {
    products.insert(1, "one");
    products.insert(2, "two");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    assertThat(jvm.degraded()).isFalse();

    redisServer.stop();
    try {
      assertThat(cache.get(1L, loader()).name()).isEqualTo("one");
      assertThat(cache.get(2L, loader()).name()).isEqualTo("two");
      await().atMost(WITHIN).until(jvm::degraded);
      assertThat(counter(jvm, "veracache.degraded.reads", "cache", namespace)).isGreaterThanOrEqualTo(2);
    } finally {
      redisServer.start();
    }
    await().atMost(WITHIN).until(() -> {
      cache.get(99L, loader()); // calls let the breaker probe Redis
      return !jvm.degraded();
    });
    double l2MissesBefore = counter(jvm, "veracache.gets", "level", "l2", "result", "miss");
    assertThat(cache.get(2L, loader()).name()).isEqualTo("two");
    assertThat(counter(jvm, "veracache.gets", "level", "l2", "result", "miss")).isEqualTo(l2MissesBefore + 1);
    assertThat(rawRecord(2)).as("filled again").startsWith("V:1:");
  }

  @Test
  void l1IsNotTrustedBeyondDegradedTtlWhileInvalidationsCannotArrive() throws Exception {
    products.insert(1, "v1");
    FakeTicker clock = new FakeTicker(); // L1 ages by the client's ticker: the test moves time instead of waiting
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofSeconds(1)).ticker(clock));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader());

    redisServer.stop();
    try {
      products.update(1, "v2"); // no invalidation can reach this instance now
      await().atMost(WITHIN).until(jvm::degraded);
      assertThat(cache.get(1L, loader()).name()).as("an entry younger than degradedL1Ttl").isEqualTo("v1");
      clock.advance(Duration.ofMillis(1001));
      assertThat(cache.get(1L, loader()).name()).as("older than degradedL1Ttl: from the loader").isEqualTo("v2");
    } finally {
      redisServer.start();
    }
  }

  @Test
  void anInvalidationThatTimesOutOnAPausedRedisIsRetriedAfterItResumes() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    a.get(1L, loader());
    assertThat(rawRecord(1)).startsWith("V:1:");

    Product v2 = products.update(1, "v2");
    redisServer.pause();
    try {
      a.invalidate(1L, v2.version());
      assertThat(jvmA.pendingInvalidations()).isEqualTo(1);
      assertThat(counter(jvmA, "veracache.invalidations", "result", "queued")).isEqualTo(1);
      assertThat(a.get(1L, loader())).as("served from the database meanwhile").isEqualTo(v2);
    } finally {
      redisServer.resume();
    }
    await().atMost(WITHIN).until(() -> jvmA.pendingInvalidations() == 0);
    // record.lua: the tombstone of an update to version 2 (P = the row exists, floor 2), with no lease (token 0,
    // deadline 0): a value of version 1 can no longer be filled or set. An absent key would not prove the retry landed.
    assertThat(rawRecord(1)).as("the retried invalidation landed as a tombstone at version 2").isEqualTo("P:2:0:0");

    Veracache jvmB = newInstance();
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    assertThat(b.get(1L, loader())).isEqualTo(v2);
  }

  @Test
  void aPausedRedisIsNoticedByAnInstanceThatOnlyReadsFromL1() throws Exception {
    // No call of this instance fails while it answers from L1: only the heartbeat can tell it Redis went silent.
    products.insert(1, "v1");
    Veracache jvm = newInstance(b -> b.degradedL1Ttl(Duration.ofMillis(50)).heartbeatInterval(Duration.ofMillis(50)));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    warmL1(jvm, cache, 1L, loader());

    redisServer.pause();
    try {
      products.update(1, "v2"); // its invalidation cannot reach Redis or any L1 now
      await().atMost(WITHIN).until(jvm::degraded);
      await().atMost(WITHIN).until(() -> cache.get(1L, loader()).name().equals("v2"));
    } finally {
      redisServer.resume();
    }
    await().atMost(WITHIN).until(() -> !jvm.degraded());
  }

  @Test
  void aRedisThatRefusesWritesIsBypassedSoItsOldValuesAreNotServed() throws Exception {
    products.insert(1, "v1");
    Veracache reader = newInstance(b -> b.heartbeatInterval(Duration.ofMillis(50)));
    // Without L1: this is about Redis (an L1 entry younger than degradedL1Ttl may be served, as promised).
    CacheAside<Long, Product> cache = reader.cacheAside(productOptions().l1Enabled(false).build());
    cache.get(1L, loader());
    assertThat(rawRecord(1)).startsWith("V:1:");

    redisCli.replicaof("127.0.0.1", 1); // read-only, data kept: nobody's invalidation can land
    try {
      products.update(1, "v2");
      await().atMost(WITHIN).until(reader::degraded);
      assertThat(rawRecord(1)).as("Redis still holds the old value").startsWith("V:1:");
      assertThat(cache.get(1L, loader()).name()).as("served from the database instead").isEqualTo("v2");
    } finally {
      redisCli.replicaofNoOne();
    }
    await().atMost(WITHIN).until(() -> !reader.degraded());
  }

  @Test
  void afterAFailedHeartbeatRedisIsTrustedOnlyOnceRecoveryGraceHasPassedOnTheClientsClock() {
    FakeTicker clock = new FakeTicker(); // the grace is an hour of this clock: the wall clock alone never ends it
    Veracache reader = newInstance(b -> b.clientName("grace").heartbeatInterval(Duration.ofMillis(50))
        .recoveryGrace(Duration.ofHours(1)).ticker(clock));
    reader.cacheAside(productOptions().build());
    String heartbeatKey = "veracache:heartbeat:grace";

    redisCli.replicaof("127.0.0.1", 1); // read-only: the heartbeat write fails
    try {
      await().atMost(WITHIN).until(reader::degraded);
    } finally {
      redisCli.replicaofNoOne();
    }
    redisCli.del(heartbeatKey);
    await().atMost(WITHIN).until(() -> redisCli.exists(heartbeatKey) == 1); // a heartbeat write succeeded again
    assertThat(reader.degraded()).as("Redis takes writes, but the grace has not passed on the client's clock")
        .isTrue();

    await().atMost(WITHIN).until(() -> {
      clock.advance(Duration.ofHours(1));
      return !reader.degraded();
    });
  }
}
