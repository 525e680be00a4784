package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.CacheUnavailableException;
import dev.veracache.FailureReason;
import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The retry of a batch's Redis steps, without servers: a step that Redis refuses (it throws
 * {@link CacheUnavailableException}) is retried until taken, counted, reported as a stall and its recovery; a close
 * ends the retries. The stall threshold is 1 ns, so the first refusal already lasted it.
 */
class RedisRetryTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CdcOptions options = options("retry-test", Duration.ofMillis(1), Duration.ofNanos(1));
  private final Lifecycle lifecycle = new Lifecycle();
  private final ListenerMetrics metrics = new ListenerMetrics(options);
  private final RedisRetry retry = new RedisRetry(options, metrics, lifecycle);

  private CdcOptions options(String name, Duration backoff, Duration stallThreshold) {
    return CdcOptions.builder()
        .database("db.invalid", 3306, "cdc", "pw")
        .name(name)
        .redis(VeracacheOptions.builder("redis://redis.invalid:6379").build())
        .mappings(InvalidationMappings.builder().table("shop.product").namespace("product").key("{id}").add().build())
        .stateDirectory(Path.of("unused"))
        .retryBackoff(backoff, backoff)
        .stallThreshold(stallThreshold)
        .meterRegistry(registry)
        .build();
  }

  @AfterEach
  void closeMetrics() {
    metrics.close();
  }

  /**
   * Found by the hostile review of the listener's split: {@link RedisRetry#isStalled()} is derived from how long a
   * refused step has waited, so health reads STALLED during the retry's pause, but the stall was reported (ERROR line,
   * {@code veracache.cdc.stalls}) only at a later refusal, and its end woke {@code awaitLive} only when reported. The
   * threshold (300 ms) is far above the time to the first refusal and far below the pause (1.5 s): the order is fixed
   * by the settings, not by luck.
   */
  @Test
  void aStallThatBeganDuringTheBackoffIsReportedAndItsEndWakesAwaitLive() throws Exception {
    CdcOptions slow = options("stall-in-backoff", Duration.ofMillis(1500), Duration.ofMillis(300));
    Lifecycle slowLifecycle = new Lifecycle();
    try (ListenerMetrics slowMetrics = new ListenerMetrics(slow)) {
      RedisRetry slowRetry = new RedisRetry(slow, slowMetrics, slowLifecycle);
      List<Boolean> stalledAtAttempt = new ArrayList<>();
      CompletableFuture<Void> changed = slowLifecycle.changed();

      slowRetry.untilTaken("a batch of 1 invalidations", true, "position not acknowledged", () -> {
        stalledAtAttempt.add(slowRetry.isStalled());
        if (stalledAtAttempt.size() == 1) {
          throw new CacheUnavailableException("OOM command not allowed", FailureReason.OOM, null);
        }
        return null;
      });

      assertThat(stalledAtAttempt).as("health read STALLED before the second attempt").containsExactly(false, true);
      assertThat(registry.get("veracache.cdc.stalls").tag("listener", "stall-in-backoff").counter().count())
          .as("a stall that health reported is counted (and logged at ERROR)").isEqualTo(1);
      assertThat(changed).as("the end of a stall wakes awaitLive, which waits on this signal").isDone();
    }
  }

  private static CacheUnavailableException refusal() {
    return new CacheUnavailableException("OOM command not allowed", FailureReason.OOM, null);
  }

  private double counter(String name) {
    return registry.get(name).tag("listener", "retry-test").counter().count();
  }

  @Test
  void aRefusedStepIsRetriedUntilTakenAndTheStallIsReportedAndEnds() throws Exception {
    List<Boolean> stalledAtAttempt = new ArrayList<>();
    CompletableFuture<Void> changed = lifecycle.changed();

    String result = retry.untilTaken("a batch of 1 invalidations", true, "position not acknowledged", () -> {
      stalledAtAttempt.add(retry.isStalled());
      if (stalledAtAttempt.size() < 3) {
        throw refusal();
      }
      return "taken";
    });

    assertThat(result).isEqualTo("taken");
    assertThat(stalledAtAttempt).as("stalled from the first refusal on").containsExactly(false, true, true);
    assertThat(retry.isStalled()).as("recovered once taken").isFalse();
    assertThat(retry.oldestUnappliedAgeMillis()).isZero();
    assertThat(counter("veracache.cdc.retries")).isEqualTo(2);
    assertThat(counter("veracache.cdc.stalls")).as("one stall, reported once").isEqualTo(1);
    assertThat(changed).as("the recovery wakes awaitLive").isDone();
  }

  @Test
  void whileRefusedTheStatusNamesTheStepAndRedisAnswer() throws Exception {
    List<String> details = new ArrayList<>();
    retry.untilTaken("the progress record", false, "clients stop trusting the caches", () -> {
      details.add(retry.stallDetail());
      if (details.size() < 2) {
        throw refusal();
      }
      return null;
    });
    assertThat(details.get(1)).startsWith("Redis has refused the progress record for ")
        .contains("(1 attempts; last: OOM command not allowed)");
  }

  @Test
  void aCloseEndsTheRetriesWithoutAnotherAttempt() {
    List<Integer> attempts = new ArrayList<>();
    assertThatThrownBy(() -> retry.untilTaken("a batch of 2 invalidations", true, "position not acknowledged", () -> {
      attempts.add(attempts.size() + 1);
      lifecycle.close(); // the listener closes while Redis refuses
      throw refusal();
    })).isInstanceOf(InterruptedException.class).hasMessageContaining("a batch of 2 invalidations");
    assertThat(attempts).containsExactly(1);
    assertThat(counter("veracache.cdc.retries")).as("a refusal during the close is not a retry").isZero();
  }
}
