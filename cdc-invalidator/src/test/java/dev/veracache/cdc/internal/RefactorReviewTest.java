package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

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
 * Hostile review of the issue-11 split (H18), without servers: the stall signal of {@link RedisRetry}.
 *
 * <p>{@link RedisRetry#isStalled()} is derived from the time a refused step has waited, so the listener reads as
 * STALLED (status, health, {@code veracache.cdc.stalled}) as soon as {@code stallThreshold} has passed, also while the
 * retry sleeps its backoff. But the stall is reported (ERROR line, {@code veracache.cdc.stalls}) only inside
 * {@code refused()}, i.e. at a refusal that comes after the threshold, and its end wakes {@code awaitLive} only when it
 * was reported. A step refused once before the threshold and taken at the next attempt, after the threshold, was
 * STALLED for the whole backoff with neither report nor wake-up. The threshold (300 ms) is far above the time from
 * the first attempt to its refusal and far below the backoff (1.5 s), so the order is fixed by the settings.
 */
class RefactorReviewTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CdcOptions options = CdcOptions.builder()
      .database("db.invalid", 3306, "cdc", "pw")
      .name("h18-review")
      .redis(VeracacheOptions.builder("redis://redis.invalid:6379").build())
      .mappings(InvalidationMappings.builder().table("shop.product").namespace("product").key("{id}").add().build())
      .stateDirectory(Path.of("unused"))
      .retryBackoff(Duration.ofMillis(1500), Duration.ofMillis(1500))
      .stallThreshold(Duration.ofMillis(300))
      .meterRegistry(registry)
      .build();
  private final Lifecycle lifecycle = new Lifecycle();
  private final ListenerMetrics metrics = new ListenerMetrics(options);
  private final RedisRetry retry = new RedisRetry(options, metrics, lifecycle);

  @AfterEach
  void closeMetrics() {
    metrics.close();
  }

  @Test
  void aStallThatBeganDuringTheBackoffIsReportedAndItsEndWakesAwaitLive() throws Exception {
    List<Boolean> stalledAtAttempt = new ArrayList<>();
    CompletableFuture<Void> changed = lifecycle.changed();

    retry.untilTaken("a batch of 1 invalidations", true, "position not acknowledged", () -> {
      stalledAtAttempt.add(retry.isStalled());
      if (stalledAtAttempt.size() == 1) {
        throw new CacheUnavailableException("OOM command not allowed", FailureReason.OOM, null);
      }
      return null;
    });

    assertThat(stalledAtAttempt).as("health read STALLED before the second attempt").containsExactly(false, true);
    assertThat(registry.get("veracache.cdc.stalls").tag("listener", "h18-review").counter().count())
        .as("a stall that health reported is counted (and logged at ERROR)").isEqualTo(1);
    assertThat(changed).as("the end of a stall wakes awaitLive, which waits on this signal").isDone();
  }
}
