package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.Invalidation;
import dev.veracache.internal.L2Failure;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The queue of invalidations Redis did not take, without a server (the Redis call is a stand-in that takes or refuses):
 * one entry per key holding the merge of what was asked; an entry leaves only when Redis took that very entry; while
 * a key has one, reads of it must bypass Redis and L1. Retries are driven by hand ({@link PendingInvalidations#settle});
 * the scheduled retries are started only to prove that a failing round does not end them.
 */
class PendingInvalidationsTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicBoolean redisTakes = new AtomicBoolean(false);
  private final List<String> applied = new ArrayList<>();
  /** Runs once, inside the next apply, before Redis answers (a merge landing while a retry is in flight). */
  private Runnable duringNextApply = () -> {};

  private final PendingInvalidations pending = new PendingInvalidations((key, invalidation, ttl) -> {
    Runnable during = duringNextApply;
    duringNextApply = () -> {};
    during.run();
    if (!redisTakes.get()) {
      throw new L2Failure(FailureReason.TIMEOUT, "Redis timed out (stand-in)", null);
    }
    applied.add(key + " " + invalidation);
  }, VeracacheOptions.builder("redis://localhost:1").meterRegistry(registry).maxPendingInvalidations(2).build());

  @AfterEach
  void close() {
    pending.close();
  }

  @Test
  void twoInvalidationsOfOneKeyWaitAsTheirMerge() {
    pending.enqueue("ns:1", Invalidation.changed(3), 1000);
    pending.enqueue("ns:1", Invalidation.deleted(5), 1000);
    assertThat(pending.size()).isEqualTo(1);

    redisTakes.set(true);
    assertThat(pending.settle("ns:1")).as("clean once applied").isTrue();
    assertThat(applied).containsExactly("ns:1 deleted at version 5");
    assertThat(pending.isEmpty()).isTrue();
  }

  @Test
  void aKeyWithAPendingInvalidationIsNotCleanWhileRedisRefuses() {
    pending.enqueue("ns:1", Invalidation.unversioned(), 1000);
    assertThat(pending.settle("ns:1")).isFalse();
    assertThat(pending.settle("ns:2")).as("another key").isTrue();
    assertThat(pending.size()).isEqualTo(1);
  }

  @Test
  void anInvalidationMergedInWhileARetryIsInFlightStaysQueued() {
    pending.enqueue("ns:1", Invalidation.changed(3), 1000);
    redisTakes.set(true);
    duringNextApply = () -> pending.enqueue("ns:1", Invalidation.changed(4), 1000);

    assertThat(pending.settle("ns:1")).as("the retried entry was applied").isTrue();
    assertThat(applied).containsExactly("ns:1 changed to version 3");
    assertThat(pending.size()).as("the newer merge waits for its own apply").isEqualTo(1);

    assertThat(pending.settle("ns:1")).isTrue();
    assertThat(applied).containsExactly("ns:1 changed to version 3", "ns:1 changed to version 4");
    assertThat(pending.isEmpty()).isTrue();
  }

  @Test
  void aRetryRoundThatThrowsSomethingUnexpectedDoesNotEndTheScheduledRetries() {
    AtomicInteger calls = new AtomicInteger();
    try (PendingInvalidations retried = new PendingInvalidations((key, invalidation, ttl) -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("a bug in the Redis call, not an L2Failure (stand-in)");
      }
    }, VeracacheOptions.builder("redis://localhost:1").meterRegistry(registry)
        .invalidationRetryInterval(Duration.ofMillis(10)).build())) {
      retried.enqueue("ns:1", Invalidation.unversioned(), 1000);
      retried.start();
      await().atMost(Duration.ofSeconds(10)).until(retried::isEmpty);
      assertThat(calls.get()).as("the first round threw, a later one applied it").isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void pastTheBoundAnotherEntryIsDroppedAndCounted() {
    pending.enqueue("ns:1", Invalidation.unversioned(), 1000);
    pending.enqueue("ns:2", Invalidation.unversioned(), 1000);
    pending.enqueue("ns:3", Invalidation.unversioned(), 1000);
    assertThat(pending.size()).isEqualTo(2);
    assertThat(pending.settle("ns:3")).as("the newest is kept").isFalse();
    assertThat(registry.find("veracache.invalidations").tag("result", "dropped").counter().count()).isEqualTo(1);
  }
}
