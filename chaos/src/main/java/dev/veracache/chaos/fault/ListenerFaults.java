package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.FaultMeasures;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/** The timed faults of the CDC listener, which runs in a JVM of its own for them ({@link CdcInvalidatorProcess}). */
final class ListenerFaults {

  private ListenerFaults() {}

  /**
   * LISTENER_CRASH (R6): the listener dies after reading a batch and before applying it. It stays down until the run
   * is healed, after the workload stopped: everything written since the crash must come from its stored position.
   *
   * <p>Measures: {@value #CRASHES} (proving: the listener died at its crash point, not killed for want of a batch);
   * when healed, the restart (its JVM live, in ms), then, once it caught up with the binlog head, what the restarted
   * JVM applied of the table's rows, {@value #REPLAYED}: the workload has stopped, so every one of them is a change
   * made before the restart, replayed from the stored position (proving, but for the forgetful baseline, which starts
   * from the current position and replays nothing), and {@value #REPLAYED_WITHIN} (from the restart to the last of
   * them applied).
   */
  static final class Crash implements Fault {
    static final String CRASHES = "listener crashes";
    static final String REPLAYED = "invalidations replayed";
    static final String REPLAYED_WITHIN = "replayed within ms";
    private boolean injected;
    private boolean restarted;

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      return strategy == Strategy.FORGETFUL_CDC ? List.of(CRASHES) : List.of(CRASHES, REPLAYED);
    }

    @Override
    public boolean listenerInOwnJvm() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      injected = true;
      if (target.listener().crashBeforeNextApply(Duration.ofMillis(target.context().scenario.seconds() * 1000L / 3))) {
        target.context().measures.increment(CRASHES);
      }
    }

    // end: nothing, it stays down until heal(): every write since the crash is its backlog

    /** Restarts the listener (once) and measures its replay; {@link FaultTarget#healServers} then finds it live. */
    @Override
    public void heal(FaultTarget target) {
      if (!injected || restarted || target.context() == null) {
        return;
      }
      restarted = true;
      FaultMeasures measures = target.context().measures;
      long started = System.nanoTime();
      target.listener().ensureLive();
      measures.add("restart ms", (System.nanoTime() - started) / 1_000_000);
      try {
        target.listener().awaitCaughtUp(ListenerCatchUp.TIMEOUT);
      } catch (SQLException e) {
        throw new IllegalStateException("the restarted listener's catch-up could not be marked: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the restarted listener caught up", e);
      }
      CdcInvalidatorProcess restartedJvm = target.listener().process();
      measures.add(REPLAYED, restartedJvm.invalidationsApplied());
      long last = restartedJvm.lastAppliedNanos();
      measures.add(REPLAYED_WITHIN, last == 0 ? 0 : Math.max(0, (last - started) / 1_000_000));
    }
  }

  /** LISTENER_PAUSE: the listener is paused (SIGSTOP): invalidations lag, then catch up. */
  static final class Pause implements Fault {
    private long pausedAtNanos;

    @Override
    public boolean listenerInOwnJvm() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      target.listener().pause();
      pausedAtNanos = System.nanoTime();
    }

    @Override
    public void end(FaultTarget target) {
      target.listener().resume();
      target.context().measures.add("listener paused ms", (System.nanoTime() - pausedAtNanos) / 1_000_000);
    }
  }
}
