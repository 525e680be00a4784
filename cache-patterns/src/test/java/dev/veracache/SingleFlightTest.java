package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Single flight within one JVM, without a server: concurrent calls for a key share one run; a call after
 * {@link SingleFlight#detach} starts its own (R11); a failure reaches every joined caller and leaves no entry behind.
 */
class SingleFlightTest {

  private final SingleFlight<String> flight = new SingleFlight<>();
  private final CountDownLatch running = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger runs = new AtomicInteger();

  private String heldWork(String answer) {
    runs.incrementAndGet();
    running.countDown();
    try {
      if (!release.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("never released");
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    return answer;
  }

  /** Starts a call that runs (and is held) or joins; returns once the first run is under way. */
  private CompletableFuture<String> firstCall(String answer) throws InterruptedException {
    CompletableFuture<String> call = CompletableFuture.supplyAsync(() -> flight.run("k", () -> heldWork(answer)));
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
    return call;
  }

  /**
   * A second call for the key while the first is held: it must join, so it parks waiting for the first's answer.
   * Returns once it is parked (a condition, not a delay), so "joined" is certain, not a matter of timing.
   */
  private CompletableFuture<String> joinedCall() {
    CompletableFuture<String> answer = new CompletableFuture<>();
    Thread caller = new Thread(() -> {
      try {
        answer.complete(flight.run("k", () -> {
          runs.incrementAndGet();
          return "ran itself";
        }));
      } catch (RuntimeException e) {
        answer.completeExceptionally(e);
      }
    });
    caller.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> caller.getState() == Thread.State.WAITING);
    return answer;
  }

  @Test
  void aCallWhileAnotherRunsJoinsItAndGetsItsAnswer() throws Exception {
    CompletableFuture<String> first = firstCall("loaded once");
    CompletableFuture<String> second = joinedCall();
    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo("loaded once");
    assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo("loaded once");
    assertThat(runs).as("runs of the work").hasValue(1);
  }

  @Test
  void aCallAfterDetachNeverJoinsTheOlderFlight() throws Exception {
    CompletableFuture<String> first = firstCall("old row");
    flight.detach("k");
    assertThat(flight.run("k", () -> "new row")).as("ran on its own while the old flight is held")
        .isEqualTo("new row");
    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo("old row");
  }

  @Test
  void aFailureLeavesNoEntryBehind() {
    assertThatThrownBy(() -> flight.run("k", () -> {
      throw new IllegalStateException("loader failed");
    })).hasMessage("loader failed");
    assertThat(flight.run("k", () -> "next")).isEqualTo("next");
  }

  @Test
  void aJoinedCallerGetsTheRunnersFailureAndNoEntryIsLeft() throws Exception {
    CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> flight.run("k", () -> {
      heldWork("unused");
      throw new IllegalStateException("loader failed");
    }));
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<String> second = joinedCall();
    release.countDown();
    assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("loader failed");
    assertThatThrownBy(() -> second.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("loader failed");
    assertThat(flight.run("k", () -> "clean")).isEqualTo("clean");
  }
}
