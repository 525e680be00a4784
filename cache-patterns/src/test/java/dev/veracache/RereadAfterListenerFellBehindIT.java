package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A re-read of an own fill must not put into L1 a value read from Redis after the CDC listener fell behind (R18), as an
 * L2 hit cannot. Found by a hostile review of {@code L1Readmission.readmit}: it checks {@code shape.signal.untrusted}
 * before it takes its L1 ticket, and never after. An L2 hit ({@code DefaultTieredCache.readThroughRedis}) takes its
 * ticket first and checks the listener after it, so the read start its answer is aged from always precedes the moment
 * it last saw the listener trusted; a re-read's read start can follow the moment the listener fell behind, by as long as
 * its thread is held between the check and the ticket. Its answer, read from a Redis the stalled listener no longer
 * invalidates, is then stored as young and served for up to another bound, however stale it is.
 *
 * <p>Deterministic: the re-read thread is parked on its read of the client's ticker inside {@code L1Store.beginRead}
 * (after its trust check, before its read start is taken); meanwhile the listener falls a minute behind, the row
 * changes, and a minute passes on the client's clock.
 */
class RereadAfterListenerFellBehindIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);
  private long sequence;

  private RedisInvalidator listener() {
    RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.builder(redisServer.uri()).build());
    closeLater(invalidator);
    return invalidator;
  }

  private void publish(RedisInvalidator listener, long lagMillis) {
    long last = sequence;
    sequence++;
    listener.publishProgress("cdc", "i1", List.of(namespace), last, sequence, lagMillis);
  }

  @Test
  void aRereadThatPassedItsTrustCheckBeforeTheListenerFellBehindDoesNotStoreRedisValueAsYoung() throws Exception {
    products.insert(1, "v1");
    RedisInvalidator listener = listener();
    ParkingTicker ticker = new ParkingTicker();
    Veracache jvm = newInstance(b -> b.ticker(ticker));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions()
        .listenerStalenessBound(Duration.ofSeconds(5)).build());
    await().atMost(WITHIN).until(() -> {
      publish(listener, 0);
      return !jvm.listenerUntrusted(namespace);
    });

    // Parks the own-write re-read thread once, on its ticker read in L1Store.beginRead.
    ParkingTicker.Park park = ticker.parkWhere(() -> ParkingTicker.onStack(L1Store.class, "beginRead",
        L1Readmission.class, "readmit"));
    try {
      assertThat(cache.get(1L, loader()).name()).isEqualTo("v1"); // a miss: filled; its re-read is queued
      assertThat(park.arrived.await(10, TimeUnit.SECONDS))
          .as("the re-read passed its trust check and is taking its ticket").isTrue();
      jvm.awaitPushesSoFar();
      assertThat(inL1(cache, 1L)).as("the fill's own push dropped it").isFalse();

      // The CDC listener stalls: a minute behind. The row changes; Redis keeps v1, nobody invalidates it.
      publish(listener, 60_000);
      await().atMost(WITHIN).until(() -> jvm.listenerUntrusted(namespace));
      products.update(1, "v2");
      ticker.clock.advance(Duration.ofMinutes(1)); // a minute passes: v2 has been in the database that long
    } finally {
      park.release.countDown();
    }
    await().atMost(WITHIN).until(() -> counter(jvm, "veracache.l1.readmissions", "result", "stored")
        + counter(jvm, "veracache.l1.readmissions", "result", "not_stored")
        + counter(jvm, "veracache.l1.readmissions", "result", "skipped") >= 1);

    // An L2 hit now would bypass Redis (the listener is behind) and load v2; L1 may serve only entries read from a
    // trusted Redis less than the bound ago. v1 was read from Redis a minute after v2 was committed.
    assertThat(cache.get(1L, loader()).name())
        .as("the re-read's v1, read from Redis after the listener fell behind, is not served as young (R18)")
        .isEqualTo("v2");
  }
}
