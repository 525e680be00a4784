package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.FlusherHooks;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of write-behind: each test states a promise of {@link WriteBehindCache} or
 * {@link WriteBehindFlusher} and tries to break it on the real servers. Races are made deterministic with gates.
 */
class WriteBehindReviewIT extends WriteBehindTest {

  private static final Duration FLUSHED = Duration.ofSeconds(20);

  /** A reader in a JVM of its own, without L1, so that what it gets is what Redis (or the database) says. */
  private TieredCache<Long, Product> freshReader() {
    return newInstance().cache(productOptions().l1Enabled(false).build());
  }

  /**
   * "A put that returned reaches the database in per-key order": two acknowledged puts of one key, the later one a
   * value the database refuses. Coalescing keeps only the later (poison) write; when it is dead-lettered, the earlier
   * acknowledged write is dropped with it, so the database (and then the cache) goes back to the row before both.
   */
  @Test
  void aDeadLetteredWriteDoesNotEraseAnEarlierAcknowledgedWriteOfItsKeyInTheSameBatch() throws Exception {
    rows.insert(100, "before", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long good = cache.put(100L, product(100, "good"));
    cache.put(100L, product(100, "poison")); // the table's CHECK constraint refuses it

    flusher(client);
    await().atMost(FLUSHED).until(() -> counter(client, "veracache.writebehind.dead.lettered") == 1);
    assertThat(rows.batches.get(0)).as("precondition: both writes were in one batch, coalesced to the poison")
        .extracting(c -> c.value().name()).containsExactly("poison");

    assertThat(rows.row(100).version()).as("the acknowledged write 'good' reaches the database")
        .isEqualTo(good);
    assertThat(freshReader().get(100L, rows::find).name()).isEqualTo("good");
  }

  /**
   * "Read your writes": a poison write of a key is dead-lettered while a later, good write of the key is still
   * pending. The dead letter's unversioned invalidation drops the pending value, and a reader gets the database's
   * older row until the good write is flushed.
   */
  @Test
  void aDeadLetterOfAnOlderWriteDoesNotEvictANewerPendingValue() throws Exception {
    rows.insert(110, "before", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long poison = cache.put(110L, product(110, "poison"));

    Gate poisonBatch = new Gate();
    Gate goodBatch = new Gate();
    long[] goodVersion = {Long.MAX_VALUE};
    WriteBehindWriter<Long, Product> writer = (connection, changes) -> {
      if (changes.stream().anyMatch(c -> c.version() == poison)) {
        poisonBatch.hold();
      }
      if (changes.stream().anyMatch(c -> c.version() == goodVersion[0])) {
        goodBatch.hold();
      }
      rows.writer.write(connection, changes);
    };
    flusher(client, FlusherHooks.NONE, writer);
    poisonBatch.awaitArrival(); // the flusher polled a batch holding only the poison
    goodVersion[0] = cache.put(110L, product(110, "good")); // acknowledged: now pending behind the poison
    assertThat(freshReader().get(110L, rows::find).name()).as("precondition: the pending write is served")
        .isEqualTo("good");
    poisonBatch.open();

    goodBatch.awaitArrival(); // the poison is dead-lettered, the good write not applied yet
    try {
      assertThat(counter(client, "veracache.writebehind.dead.lettered")).isEqualTo(1);
      assertThat(freshReader().get(110L, rows::find).name())
          .as("the acknowledged pending write is still read, not the database's older row").isEqualTo("good");
    } finally {
      goodBatch.open();
    }
  }

  /**
   * "A flush's own invalidation never evicts a newer pending value": it keeps a newer pending put (a V record), but a
   * newer pending delete is cached as "not found" (N), which invalidate.lua turns into a D tombstone when the older
   * put's flush fences the key. The next reader loads the database's row, the fill is refused by the fence, and the
   * reader is served the row the acknowledged delete removed.
   */
  @Test
  void theFlushOfAnOlderPutKeepsANewerPendingDelete() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long put = cache.put(130L, product(130, "first"));

    Gate putBatch = new Gate();
    Gate deleteBatch = new Gate();
    long[] deleteVersion = {Long.MAX_VALUE};
    WriteBehindWriter<Long, Product> writer = (connection, changes) -> {
      if (changes.stream().anyMatch(c -> c.version() == put)) {
        putBatch.hold();
      }
      if (changes.stream().anyMatch(c -> c.version() == deleteVersion[0])) {
        deleteBatch.hold();
      }
      rows.writer.write(connection, changes);
    };
    flusher(client, FlusherHooks.NONE, writer);
    putBatch.awaitArrival(); // the flusher applies the put alone
    deleteVersion[0] = cache.delete(130L); // acknowledged, pending behind the put
    assertThat(freshReader().get(130L, rows::find)).as("precondition: the pending delete is served").isNull();
    putBatch.open();

    deleteBatch.awaitArrival(); // the put is flushed and its key fenced; the delete is not applied yet
    try {
      assertThat(rows.row(130).version()).isEqualTo(put);
      assertThat(freshReader().get(130L, rows::find)).as("the acknowledged delete is still what readers get")
          .isNull();
    } finally {
      deleteBatch.open();
    }
  }

  /**
   * "Read your writes" while the flush lags: the value of a pending write is cached with the cache's ttl. When the
   * flush takes longer than that (the database down, the flusher behind), the value expires, the key is empty, and the
   * next read fills the database's older row over the acknowledged write.
   */
  @Test
  void aPendingWriteWhoseCachedValueExpiresBeforeTheFlushIsNotReplacedByTheOlderRow() throws Exception {
    rows.insert(120, "before", 1);
    Veracache client = newInstance();
    WriteBehindOptions<Long, Product> options = WriteBehindOptions.builder(
        productOptions().ttl(Duration.ofSeconds(1)).ttlJitter(0).build(), kafka.bootstrapServers(), topic)
        .keyDecoder(Long::valueOf).sendTimeout(Duration.ofSeconds(3)).build();
    WriteBehindCache<Long, Product> cache = client.writeBehind(options, rows::find);
    long version = cache.put(120L, product(120, "pending")); // no flusher: the flush lags
    assertThat(rawRecord(120)).startsWith("V:" + version + ":");
    assertThat(redisCli.pttl(redisKey(120))).as("a pending write outlives the cache's ttl (1 s) by far")
        .isGreaterThan(Duration.ofHours(1).toMillis());
    assertThat(freshReader().get(120L, rows::find).name())
        .as("a write acknowledged and not flushed is still what readers get").isEqualTo("pending");

    client.writeBehindFlusher(options, FlusherOptions.builder("flush-" + namespace).build(), rows.dataSource(),
        rows.writer);
    await().atMost(Duration.ofSeconds(20)).until(() -> rows.row(120) != null);
    await().atMost(Duration.ofSeconds(10)).until(() -> redisCli.pttl(redisKey(120)) <= 1000);
    assertThat(rawRecord(120)).as("flushed: the same value, now with the cache's ttl").startsWith("V:" + version + ":");
  }

  /**
   * "The cache never serves a value the database will never have": the row was written at a version above Redis's
   * clock now (by a Redis whose clock ran ahead: a failover to a host whose clock is behind, or a clock stepped back)
   * and Redis no longer holds the key. reserve.lua then gives the clock, below the row's version: the put is
   * acknowledged and cached, the writer skips it (its version is not above the row's), and the flush's fence keeps the
   * cached value, which the database never gets.
   */
  @org.junit.jupiter.api.Disabled("known limit, documented in the cache-patterns README (Write-behind): versions come "
      + "from Redis's clock; a clock behind a row's version (a failover to a host whose clock is behind) gives a put a "
      + "version the writer skips. Closing it needs the writer to report rows it did not apply")
  @Test
  void aPutReservedBelowTheRowsVersionIsNotServedAsIfItWereFlushed() throws Exception {
    long aheadClock = System.currentTimeMillis() * 1000 + 60_000_000L; // one minute ahead of this Redis, in µs
    rows.insert(140, "from-the-old-master", aheadClock);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long version = cache.put(140L, product(140, "mine"));
    assertThat(version).as("precondition: the reserved version is below the row's").isLessThan(aheadClock);

    WriteBehindFlusher<Long, Product> flusher = flusher(client);
    await().atMost(FLUSHED).until(() -> rows.writerCalls.get() > 0 && flusher.backlog() == 0);
    assertThat(freshReader().get(140L, rows::find).name()).as("what the cache serves after the flush")
        .isEqualTo(rows.find(140).name());
  }

  /**
   * "Read your writes": reserve.lua overwrites the key's record with the new write's fence, dropping the value of an
   * earlier acknowledged write still waiting for its flush. When the log then refuses the new write, the key stays
   * fenced with no value, and readers get the database's row from before both writes: the acknowledged write is
   * hidden until it is flushed.
   */
  @Test
  void aPutTheLogRefusesDoesNotHideAnEarlierAcknowledgedPendingWrite() throws Exception {
    rows.insert(150, "before", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    cache.put(150L, product(150, "acknowledged")); // pending: no flusher runs
    kafka.stop();
    try {
      assertThatThrownBy(() -> cache.put(150L, product(150, "refused"))).isInstanceOf(WriteBehindException.class);
      assertThat(freshReader().get(150L, rows::find).name())
          .as("the acknowledged, not yet flushed write is what readers get").isEqualTo("acknowledged");
    } finally {
      kafka.start();
    }
  }

  // ---- Attacks that failed: each pins a property that holds. ----

  /** Two writes of a key started from one thread by putAsync are logged, cached and flushed in that order. */
  @Test
  void putAsyncOfOneKeyFromOneThreadEndsAtTheSecondWrite() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    for (int round = 0; round < 20; round++) {
      long id = 200L + round;
      CompletableFuture<Long> first = cache.putAsync(id, product(id, "first"));
      CompletableFuture<Long> second = cache.putAsync(id, product(id, "second"));
      assertThat(second.get(10, TimeUnit.SECONDS)).isGreaterThan(first.get(10, TimeUnit.SECONDS));
      assertThat(freshReader().get(id, rows::find).name()).isEqualTo("second");
    }
    flusher(client);
    for (int round = 0; round < 20; round++) {
      long id = 200L + round;
      await().atMost(FLUSHED).until(() -> rows.row(id) != null);
      assertThat(rows.row(id).name()).isEqualTo("second");
    }
  }

  /**
   * A key whose floor is at or above Redis's clock gets one above it; at 2^63 - 1 the reserve refuses (no wrap to a
   * negative or a lower version) and nothing is acknowledged.
   */
  @Test
  void aFloorAboveTheClockIsStillExceededAndTheTopOfTheRangeIsRefused() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long huge = 4_000_000_000_000_000_000L;
    redisCli.set(redisKey(300), ("V:" + huge + ":{}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(cache.put(300L, product(300, "next"))).isEqualTo(huge + 1);

    redisCli.set(redisKey(301), ("P:" + Long.MAX_VALUE + ":0:0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThatThrownBy(() -> cache.put(301L, product(301, "overflow"))).isInstanceOf(WriteBehindException.class);
    assertThat(rawRecord(301)).isEqualTo("P:" + Long.MAX_VALUE + ":0:0");
    assertThat(readTopic(topic, 2, Duration.ofSeconds(3))).as("only the first put is in the log").hasSize(1);
  }

  /**
   * A rebalance between two flushers: the first is closed while its writer is inside a batch, a second member of the
   * group takes the partitions over. The batch is applied by the closing member, not committed, replayed by the new
   * one without applying twice, and the write made meanwhile is flushed by the new member.
   */
  @Test
  void aFlusherClosedMidBatchHandsItsPartitionsOverAndTheReplayAppliesNothingTwice() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long first = cache.put(500L, product(500, "first"));
    Gate inBatch = new Gate();
    WriteBehindWriter<Long, Product> holding = (connection, changes) -> {
      inBatch.hold();
      rows.writer.write(connection, changes);
    };
    WriteBehindFlusher<Long, Product> closing = flusher(newInstance(), FlusherHooks.NONE, holding);
    inBatch.awaitArrival();
    CompletableFuture<Void> closed = CompletableFuture.runAsync(closing::close);
    WriteBehindFlusher<Long, Product> next = flusher(newInstance());
    long second = cache.put(501L, product(501, "second"));
    inBatch.open();
    closed.get(30, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(60)).until(() -> rows.row(501) != null && rows.row(500) != null);
    await().atMost(Duration.ofSeconds(60)).until(() -> next.backlog() == 0);
    assertThat(rows.row(500)).isEqualTo(new ProductLog.Row("first", false, first, 1));
    assertThat(rows.row(501)).isEqualTo(new ProductLog.Row("second", false, second, 1));
    assertThat(closing.isRunning()).isFalse();
  }

  /** A delete then a put of one key across two batches: the database and the cache end at the put. */
  @Test
  void aDeleteThenAPutInSeparateBatchesEndsAtThePut() throws Exception {
    rows.insert(400, "before", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long deleted = cache.delete(400L);
    WriteBehindFlusher<Long, Product> flusher = flusher(client);
    await().atMost(FLUSHED).until(() -> rows.row(400).version() == deleted);
    long put = cache.put(400L, product(400, "back"));
    await().atMost(FLUSHED).until(() -> rows.row(400).version() == put);
    assertThat(rows.find(400)).isEqualTo(new Product(400, "back", put));
    await().atMost(FLUSHED).until(() -> flusher.backlog() == 0);
    assertThat(freshReader().get(400L, rows::find).name()).isEqualTo("back");
    assertThat(List.of(rows.row(400).changes())).containsExactly(2);
  }
}
