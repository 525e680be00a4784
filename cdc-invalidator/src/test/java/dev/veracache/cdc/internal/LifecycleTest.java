package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.cdc.internal.Lifecycle.Phase;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The listener's one state value, without servers: which moves it allows, what is final, and its change signal. */
class LifecycleTest {

  /** Brings a new lifecycle to {@code phase} by the listener's own moves. */
  private static Lifecycle at(Phase phase) {
    Lifecycle lifecycle = new Lifecycle();
    switch (phase) {
      case STARTING -> { }
      case PROVING -> lifecycle.move(Phase.PROVING, Phase.STARTING);
      case FLUSHING -> {
        lifecycle.move(Phase.PROVING, Phase.STARTING);
        lifecycle.move(Phase.FLUSHING, Phase.PROVING);
      }
      case LIVE -> {
        lifecycle.move(Phase.PROVING, Phase.STARTING);
        lifecycle.move(Phase.FLUSHING, Phase.PROVING);
        lifecycle.move(Phase.LIVE, Phase.FLUSHING);
      }
      case FAILED -> lifecycle.fail(new IllegalStateException("failed"));
      case CLOSED -> lifecycle.close();
    }
    assertThat(lifecycle.phase()).isEqualTo(phase);
    return lifecycle;
  }

  static Stream<Arguments> theListenersMoves() {
    return Stream.of(
        Arguments.of("an engine starts", Phase.STARTING, Phase.PROVING),
        Arguments.of("the readiness marker came back", Phase.PROVING, Phase.FLUSHING),
        Arguments.of("the owed flush is done", Phase.FLUSHING, Phase.LIVE),
        Arguments.of("Redis lost acknowledged data", Phase.LIVE, Phase.FLUSHING),
        Arguments.of("the engine stopped on a purged position", Phase.LIVE, Phase.STARTING));
  }

  @ParameterizedTest(name = "{0}: {1} -> {2}")
  @MethodSource("theListenersMoves")
  void aMoveFromItsPhaseHappensAndSignals(String why, Phase from, Phase to) {
    Lifecycle lifecycle = at(from);
    CompletableFuture<Void> changed = lifecycle.changed();

    assertThat(lifecycle.move(to, from)).isTrue();
    assertThat(lifecycle.phase()).isEqualTo(to);
    assertThat(changed).as("a waiter that took the future before the move is woken").isDone();
    assertThat(lifecycle.changed()).as("the next waiter waits for the next change").isNotDone();
  }

  @Test
  void aMoveFromAnotherPhaseChangesNothingAndSignalsNothing() {
    Lifecycle lifecycle = at(Phase.PROVING);
    CompletableFuture<Void> changed = lifecycle.changed();

    assertThat(lifecycle.move(Phase.LIVE, Phase.FLUSHING)).as("LIVE only after FLUSHING").isFalse();
    assertThat(lifecycle.phase()).isEqualTo(Phase.PROVING);
    assertThat(changed).isNotDone();
  }

  @ParameterizedTest(name = "nothing moves a {0} listener")
  @MethodSource("finalPhases")
  void failedAndClosedAreFinal(Phase phase) {
    Lifecycle lifecycle = at(phase);
    for (Phase from : Phase.values()) {
      for (Phase to : Phase.values()) {
        if (from != phase) {
          lifecycle.move(to, from);
        }
      }
    }
    assertThat(lifecycle.phase()).isEqualTo(phase);
    assertThat(lifecycle.isOver()).isTrue();
  }

  static Stream<Phase> finalPhases() {
    return Stream.of(Phase.FAILED, Phase.CLOSED);
  }

  @Test
  void theFirstFailureIsKeptAndAClosedListenerStillTellsWhyItFailed() {
    Lifecycle lifecycle = at(Phase.LIVE);
    IllegalStateException first = new IllegalStateException("first");
    lifecycle.fail(first);
    lifecycle.fail(new IllegalStateException("second"));
    assertThat(lifecycle.failure()).isSameAs(first);

    assertThat(lifecycle.close()).as("the first close").isTrue();
    assertThat(lifecycle.close()).as("a second close").isFalse();
    assertThat(lifecycle.phase()).isEqualTo(Phase.CLOSED);
    assertThat(lifecycle.failure()).isSameAs(first);
  }

  @Test
  void aFailureAfterTheCloseIsNotRecorded() {
    Lifecycle lifecycle = at(Phase.CLOSED);
    lifecycle.fail(new IllegalStateException("the engine stopped under the close"));
    assertThat(lifecycle.phase()).isEqualTo(Phase.CLOSED);
    assertThat(lifecycle.failure()).isNull();
  }
}
