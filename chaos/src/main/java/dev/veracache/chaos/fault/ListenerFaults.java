package dev.veracache.chaos.fault;

import java.time.Duration;

/** The timed faults of the CDC listener, which runs in a JVM of its own for them ({@link CdcInvalidatorProcess}). */
final class ListenerFaults {

  private ListenerFaults() {}

  /**
   * LISTENER_CRASH (R6): the listener dies after reading a batch and before applying it. It stays down until the run
   * is healed, after the workload stopped: everything written since the crash must come from its stored position.
   */
  static final class Crash implements Fault {
    @Override
    public boolean listenerInOwnJvm() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      target.listener().crashBeforeNextApply(Duration.ofMillis(target.context().scenario.seconds() * 1000L / 3));
    }

    // end: nothing, it stays down until heal(): every write since the crash is its backlog
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
