package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.testing.FlusherHooks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Write-behind end to end on the embedded MariaDB, Redis and Kafka: what a put promises and what the flusher does. */
class WriteBehindIT extends WriteBehindTest {

  private static final Duration FLUSHED = Duration.ofSeconds(20);

  /** Thrown by a hook to stop the flusher thread dead, as a kill -9 of its JVM would. */
  private static final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;
  }

  @Test
  void anAcknowledgedPutIsServedAtOnceAndReachesTheDatabaseWithItsVersion() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long version = cache.put(1L, product(1, "first"));

    assertThat(rows.row(1)).as("nothing is flushed without a flusher").isNull();
    assertThat(cache.get(1L).name()).as("served from the cache before the flush").isEqualTo("first");
    assertThat(rawRecord(1)).startsWith("V:" + version + ":");

    flusher(client);
    await().atMost(FLUSHED).until(() -> rows.row(1) != null);
    assertThat(rows.row(1)).isEqualTo(new ProductLog.Row("first", false, version, 1));
    assertThat(counter(client, "veracache.writebehind.acked", "op", "put")).isEqualTo(1);
    await().atMost(FLUSHED).until(() -> counter(client, "veracache.writebehind.flushed") == 1);
  }

  @Test
  void aDeleteIsServedAsNotFoundAndKeepsItsVersionInTheDatabase() throws Exception {
    rows.insert(2, "old", 5);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    assertThat(cache.get(2L).name()).isEqualTo("old");
    long version = cache.delete(2L);

    assertThat(cache.get(2L)).as("not found before the flush").isNull();
    flusher(client);
    await().atMost(FLUSHED).until(() -> rows.row(2).deleted());
    assertThat(rows.row(2).version()).isEqualTo(version);
    assertThat(cache.get(2L)).isNull();
  }

  @Test
  void versionsGrowPerKeyAcrossClientsAndTheDatabaseEndsAtTheLastAcknowledgedWrite() throws Exception {
    Veracache a = newInstance();
    Veracache b = newInstance();
    WriteBehindCache<Long, Product> cacheA = writeBehind(a);
    WriteBehindCache<Long, Product> cacheB = writeBehind(b);
    int writers = 4;
    int writesEach = 50;
    Map<Long, Long> lastVersionOfKey = new ConcurrentHashMap<>();
    Map<Long, String> lastNameOfKey = new ConcurrentHashMap<>();
    List<CompletableFuture<Void>> running = new ArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    for (int w = 0; w < writers; w++) {
      WriteBehindCache<Long, Product> cache = w % 2 == 0 ? cacheA : cacheB;
      int writer = w;
      running.add(CompletableFuture.runAsync(() -> {
        try {
          start.await();
          for (int i = 0; i < writesEach; i++) {
            long id = i % 5;
            String name = "w" + writer + "-" + i;
            long version = cache.put(id, product(id, name));
            lastVersionOfKey.merge(id, version, Math::max);
            synchronized (lastNameOfKey) {
              if (lastVersionOfKey.get(id) == version) {
                lastNameOfKey.put(id, name);
              }
            }
          }
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    start.countDown();
    CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    flusher(a);

    for (long id = 0; id < 5; id++) {
      long id0 = id;
      await().atMost(FLUSHED).until(() -> rows.row(id0) != null && rows.row(id0).version() == lastVersionOfKey
          .get(id0));
      assertThat(rows.row(id).name()).as("key %d ends at its highest version's write", id)
          .isEqualTo(lastNameOfKey.get(id));
      assertThat(cacheB.get(id).name()).as("and the cache agrees").isEqualTo(lastNameOfKey.get(id));
    }
  }

  @Test
  void aBatchHoldsEachKeyOnceWithItsLatestWrite() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long last = 0;
    for (int i = 0; i < 100; i++) {
      last = cache.put(7L, product(7, "n" + i));
    }
    cache.delete(8L);
    long lastOf8 = cache.put(8L, product(8, "back"));
    flusher(client);
    await().atMost(FLUSHED).until(() -> rows.row(7) != null && rows.row(8) != null);
    assertThat(rows.row(7)).isEqualTo(new ProductLog.Row("n99", false, last, 1));
    assertThat(rows.row(8)).as("a later put wins over an earlier delete").isEqualTo(new ProductLog.Row("back", false,
        lastOf8, 1));
    for (List<WriteBehindChange<Long, Product>> batch : rows.batches) {
      assertThat(batch.stream().map(WriteBehindChange::key).distinct().count()).as("each key once per batch")
          .isEqualTo(batch.size());
    }
    await().atMost(FLUSHED).until(() -> counter(client, "veracache.writebehind.coalesced") > 0);
    assertThat(counter(client, "veracache.writebehind.coalesced") + counter(client, "veracache.writebehind.flushed"))
        .as("every record either coalesced or flushed").isEqualTo(102);
  }

  @Test
  void aFlusherKilledBetweenTheDatabaseCommitAndTheOffsetCommitIsReplayedWithoutApplyingTwice() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long version = cache.put(3L, product(3, "once"));
    CountDownLatch committed = new CountDownLatch(1);
    FlusherHooks dieAfterCommit = new FlusherHooks() {
      @Override
      public void afterDatabaseCommit(int changes) {
        committed.countDown();
        throw new SimulatedCrash(); // stands for kill -9: nothing after the database commit runs
      }
    };
    WriteBehindFlusher<Long, Product> crashing = flusher(client, dieAfterCommit, rows.writer);
    assertThat(committed.await(20, TimeUnit.SECONDS)).isTrue();
    await().atMost(FLUSHED).until(() -> !crashing.isRunning());
    assertThat(rows.row(3)).isEqualTo(new ProductLog.Row("once", false, version, 1));

    int callsBefore = rows.writerCalls.get();
    flusher(client);
    await().atMost(FLUSHED).until(() -> rows.writerCalls.get() > callsBefore);
    assertThat(rows.batches.get(rows.batches.size() - 1)).as("the batch is replayed")
        .extracting(WriteBehindChange::version).containsExactly(version);
    assertThat(rows.row(3).changes()).as("and changes nothing the second time").isEqualTo(1);
  }

  @Test
  void aDatabaseDownKeepsEveryWriteInTheLogUntilItIsBack() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    WriteBehindFlusher<Long, Product> flusher = flusher(client);
    db.stop();
    try {
      for (long id = 10; id < 20; id++) {
        cache.put(id, product(id, "while-down-" + id));
      }
      await().atMost(FLUSHED).until(() -> counter(client, "veracache.writebehind.retried") >= 2);
      assertThat(flusher.backlog()).as("the backlog shows the writes waiting").isGreaterThan(0);
    } finally {
      db.start();
    }
    for (long id = 10; id < 20; id++) {
      long id0 = id;
      await().atMost(FLUSHED).until(() -> rows.row(id0) != null);
      assertThat(rows.row(id).name()).isEqualTo("while-down-" + id);
    }
    await().atMost(FLUSHED).until(() -> flusher.backlog() == 0);
  }

  @Test
  void aRecordTheDatabaseRefusesGoesToTheDeadLetterTopicAndItsKeyLeavesTheCache() throws Exception {
    rows.insert(30, "good-old", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    cache.put(30L, product(30, "poison")); // the table's CHECK constraint refuses it
    long fine = cache.put(31L, product(31, "fine"));
    assertThat(cache.get(30L).name()).as("served until the flusher finds out").isEqualTo("poison");

    flusher(client);
    await().atMost(FLUSHED).until(() -> counter(client, "veracache.writebehind.dead.lettered") == 1);
    assertThat(rows.row(31)).as("the rest of the batch is applied").isEqualTo(new ProductLog.Row("fine", false, fine,
        1));
    List<ConsumerRecord<String, byte[]>> dead = readTopic(topic + ".dlt", 1);
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).isEqualTo("30");
    assertThat(new String(dead.get(0).headers().lastHeader("veracache.error").value(), StandardCharsets.UTF_8))
        .contains("SQLState 23");
    await().atMost(FLUSHED).until(() -> cache.get(30L) != null && cache.get(30L).name().equals("good-old"));
  }

  /**
   * With {@code invalidationReplicas}, the fence a dead letter leaves (a tombstone over the value the database never
   * got) must be on the replicas too, or a failover brings that value back: on the embedded Redis, which has no
   * replica, it stays queued in the flusher's client.
   */
  @Test
  void withInvalidationReplicasADeadLetterFenceNoReplicaAcknowledgedStaysPending() throws Exception {
    rows.insert(32, "good-old", 1);
    Veracache producer = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(producer);
    cache.put(32L, product(32, "poison")); // the table's CHECK constraint refuses it
    Veracache flushing = newInstance(b -> b.invalidationReplicas(1));

    flusher(flushing);
    await().atMost(FLUSHED).until(() -> counter(flushing, "veracache.writebehind.dead.lettered") == 1);
    // The fence follows the dead letter's count; then it stays queued.
    await().atMost(FLUSHED).until(() -> flushing.pendingInvalidations() == 1);
    assertThat(counter(flushing, "veracache.redis.errors", "reason", "not_durable")).isPositive();
    assertThat(cache.get(32L).name()).isEqualTo("good-old");
  }

  @Test
  void aFillThatReadTheRowBeforeAPutCannotCacheItOverThePut() throws Exception {
    rows.insert(40, "before", 1);
    Gate afterLoad = new Gate();
    Veracache reader = newInstance();
    TieredCache<Long, Product> readerCache = reader.cache(productOptions().hooks(afterLoad.afterLoad()).build());
    Veracache writer = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(writer);

    CompletableFuture<Product> slowRead = CompletableFuture.supplyAsync(() -> readerCache.get(40L, rows::find));
    afterLoad.awaitArrival(); // the reader loaded "before" and holds a lease
    cache.put(40L, product(40, "after"));
    afterLoad.open();
    assertThat(slowRead.get(10, TimeUnit.SECONDS).name()).isEqualTo("before");

    assertThat(counter(reader, "veracache.fills", "result", "stored")).as("the stale fill was refused").isZero();
    assertThat(counter(reader, "veracache.fills", "result", "refused_lease")
        + counter(reader, "veracache.fills", "result", "refused_present")).isEqualTo(1);
    assertThat(readerCache.get(40L, rows::find).name()).as("read your writes").isEqualTo("after");
  }

  @Test
  void theInvalidationOfAnOlderFlushKeepsANewerPendingValue() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    long flushed = cache.put(50L, product(50, "v1"));
    try (WriteBehindFlusher<Long, Product> flusher = flusher(client)) {
      await().atMost(FLUSHED).until(() -> rows.row(50) != null);
      await().atMost(FLUSHED).until(() -> flusher.backlog() == 0);
    }
    cache.put(50L, product(50, "v2")); // pending: no flusher runs
    cache.tiered().invalidate(50L, flushed); // the CDC event of the first flush, arriving late
    Veracache other = newInstance();
    assertThat(other.cache(productOptions().build()).get(50L, rows::find).name()).isEqualTo("v2");
  }

  @Test
  void aPutWhileKafkaDoesNotAnswerFailsAndAcknowledgesNothing() throws Exception {
    rows.insert(60, "committed", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = client.writeBehind(writeBehindOptions().sendTimeout(Duration.ofSeconds(1))
        .build(), rows::find);
    kafka.pause(); // SIGSTOP: the broker holds the connection and answers nothing
    try {
      assertThatThrownBy(() -> cache.put(60L, product(60, "maybe")))
          .isInstanceOf(WriteBehindException.class).hasMessageContaining("not logged by Kafka at "
              + kafka.bootstrapServers());
      assertThat(cache.get(60L).name()).as("the cache does not serve what the log may not hold")
          .isEqualTo("committed");
      assertThat(counter(client, "veracache.writebehind.rejected", "reason", "log")).isEqualTo(1);
    } finally {
      kafka.resume();
    }
    // The timed-out record may still be appended once the broker runs again (its fate is unknown, like any timed-out
    // write); a later put gets a higher version and wins either way.
    long version = cache.put(60L, product(60, "after"));
    flusher(client);
    await().atMost(FLUSHED).until(() -> rows.row(60).version() == version);
    assertThat(rows.row(60).name()).isEqualTo("after");
  }

  @Test
  void aBrokerRestartLosesNoAcknowledgedWrite() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    WriteBehindFlusher<Long, Product> flusher = flusher(client);
    Map<Long, Long> acked = new java.util.HashMap<>();
    for (long id = 70; id < 80; id++) {
      acked.put(id, cache.put(id, product(id, "before")));
    }
    kafka.kill();
    kafka.start();
    for (long id = 80; id < 90; id++) {
      acked.put(id, cache.put(id, product(id, "after")));
    }
    for (Map.Entry<Long, Long> write : acked.entrySet()) {
      await().atMost(Duration.ofSeconds(60)).until(() -> rows.row(write.getKey()) != null
          && rows.row(write.getKey()).version() == write.getValue());
    }
    assertThat(flusher.isRunning()).isTrue();
  }

  @Test
  void whileRedisIsDownPutsFailAndReadersGetTheDatabaseRow() throws Exception {
    rows.insert(90, "flushed", 1);
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = writeBehind(client);
    cache.put(90L, product(90, "pending")); // not flushed: no flusher runs
    Veracache other = newInstance();
    TieredCache<Long, Product> otherCache = other.cache(productOptions().l1Enabled(false).build());
    redisServer.stop();
    try {
      assertThat(otherCache.get(90L, rows::find).name()).as("reads degrade to the database: the older row")
          .isEqualTo("flushed");
      assertThatThrownBy(() -> cache.put(91L, product(91, "x"))).isInstanceOf(WriteBehindException.class)
          .hasMessageContaining("Redis could not give it a version");
    } finally {
      redisServer.start();
    }
  }
}
