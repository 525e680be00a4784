package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.internal.Lifecycle.Phase;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile review of the split of the listener into one concept per class, on the embedded Redis: the flush duty across an engine restart.
 *
 * <p>The start-up proof ({@link ReadinessProver}) checks "FLUSHING and still the current proof" once, before it
 * flushes; the flush takes as long as Redis takes. If meanwhile the engine stops on a purged position
 * ({@code EngineRunner.engineStopped} moves to STARTING, {@code StartingPosition.onPurged} stores a NEW duty and
 * deletes the position, {@code EngineRunner.start} begins a new proof), the old proof still finishes and calls
 * {@code NamespaceFlush.clear()}: the new duty, stored precisely so that a listener stopped before the new engine's
 * flush still flushes on its next start, is erased. The changes between the flush and the new engine's start
 * position are then never invalidated if the listener stops (crash, close, kill) before the new proof's flush.
 *
 * <p>The test drives the product's own calls in the order the engine thread makes them, while the old proof is held
 * at {@code beforeFlush} (a latch); the duty store is an in-memory {@link ListenerState} so that what is stored can be
 * read back exactly.
 */
@ExtendWith(EmbeddedStackExtension.class)
class RefactorReviewIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  /** The duty and position store, in memory. */
  static final class RecordingState extends ListenerState {
    volatile String duty;

    RecordingState(String listener) {
      super(listener);
    }

    @Override
    String describe() {
      return "memory";
    }

    @Override
    Optional<StoredPosition> storedPosition() {
      return Optional.empty();
    }

    @Override
    Optional<String> flushDuty() {
      return Optional.ofNullable(duty);
    }

    @Override
    void recordFlushDuty(String reason) {
      duty = reason;
    }

    @Override
    void clearFlushDuty() {
      duty = null;
    }

    @Override
    void deleteStoredPosition() {}

    @Override
    boolean hasSchemaHistory() {
      return false;
    }
  }

  @Test
  void aProofOvertakenByAnEngineRestartDoesNotClearTheNewEnginesFlushDuty(RedisServer redis) throws Exception {
    String namespace = "h18review" + SEQUENCE.incrementAndGet() + System.nanoTime();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CdcOptions options = CdcOptions.builder()
        .database("db.invalid", 3306, "cdc", "pw")
        .name("h18-review-" + namespace)
        .redis(VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofSeconds(2)).clientName("h18").build())
        .mappings(InvalidationMappings.builder().table("shop.product").namespace(namespace).key("{id}").add()
            .build())
        .stateDirectory(Path.of("unused"))
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .meterRegistry(registry)
        .build();
    CountDownLatch atFlush = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CdcHooks holdTheFlush = new CdcHooks() {
      @Override
      public void beforeFlush(List<String> namespaces) {
        atFlush.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    Lifecycle lifecycle = new Lifecycle();
    RecordingState state = new RecordingState(options.name());
    RedisClient client = RedisClient.create(redis.uri());
    try (ListenerMetrics metrics = new ListenerMetrics(options);
         RedisInvalidator invalidator = RedisInvalidator.create(options.redis());
         StatefulRedisConnection<String, String> cli = client.connect()) {
      RedisRetry retry = new RedisRetry(options, metrics, lifecycle);
      NamespaceFlush flush = new NamespaceFlush(options, state, invalidator, metrics, retry, lifecycle);
      ReadinessProver prover = new ReadinessProver(options, holdTheFlush, lifecycle, flush);
      cli.sync().set(namespace + ":1", "V:1:{\"stale\":true}");

      // A first start: the duty is stored, the engine starts, its marker came back: the proof flushes.
      flush.owe("no stored position (first start)");
      int firstProof = prover.beginProof();
      assertThat(lifecycle.move(Phase.PROVING, Phase.STARTING)).isTrue();
      assertThat(lifecycle.move(Phase.FLUSHING, Phase.PROVING)).isTrue();
      prover.proveAfterStart(firstProof, true);
      assertThat(atFlush.await(20, TimeUnit.SECONDS)).as("the first proof reached its flush").isTrue();

      // Meanwhile, on the engine thread: the engine stops on a purged position and a new one is started.
      lifecycle.move(Phase.STARTING, Phase.PROVING, Phase.FLUSHING, Phase.LIVE); // EngineRunner.engineStopped
      flush.owe("stored position purged: binlog file gone");                      // StartingPosition.onPurged
      prover.beginProof();                                                        // EngineRunner.start(true)
      assertThat(lifecycle.move(Phase.PROVING, Phase.STARTING)).isTrue();

      release.countDown(); // the first proof's flush goes on
      await().atMost(Duration.ofSeconds(20))
          .until(() -> registry.find("veracache.cdc.namespaces.flushed").counter().count() >= 1);
      prover.interrupt(); // the old proof has only in-memory steps left: they complete, the thread ends
      prover.awaitStopped();

      assertThat(cli.sync().get(namespace + ":1")).as("the old proof did flush").isNull();
      assertThat(state.flushDuty()).as("the duty stored for the new engine (its flush is still to come)")
          .contains("stored position purged: binlog file gone");
      assertThat(flush.duty()).as("the listener still knows it owes that flush").isNotNull();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
