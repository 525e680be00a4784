package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.RaceInjection;
import java.util.List;

/**
 * One fault of a scenario, as an object that knows how to inject and heal itself. The runner asks it what the run
 * needs before anything starts ({@link #needsProxies}, {@link #listenerInOwnJvm}), declares its
 * {@link #provingMeasures}, calls {@link #prepare} before the workload, {@link #inject} and {@link #end} at the edges
 * of the fault window (timed faults only: {@code faultFraction} of the run, centred in it), {@link #releaseHolds} once
 * the workload stopped, and {@link #heal} after the run, before {@link FaultTarget#healServers()}. A race injection
 * acts for the whole run through its {@link #raceInjection()} instead. Made by {@link FaultRegistry}, one per run.
 *
 * <p>Invariants: {@link #heal} is idempotent and runs whether or not the fault was injected (a run may fail at any
 * point); it undoes what only this fault knows of (a snapshot file, memory pressure), the servers themselves are
 * restored by {@link FaultTarget#healServers()}; what the fault did is counted in the run's measures, and a count
 * that proves it took effect is declared in {@link #provingMeasures} (a count that stays 0 fails the run).
 */
public interface Fault {

  /**
   * The counts that must end above 0 for a run of {@code strategy} to prove this fault took effect, in the order the
   * report shows them (declared before the run starts).
   */
  default List<String> provingMeasures(Strategy strategy) {
    return List.of();
  }

  /** How this fault holds racing threads: {@link RaceInjection#NONE} unless it is a race injection. */
  default RaceInjection raceInjection() {
    return RaceInjection.NONE;
  }

  /** Whether every instance must reach Redis through proxies of its own ({@link InstanceNetwork}), for the fault to act on. */
  default boolean needsProxies() {
    return false;
  }

  /** Whether the CDC listener must run in a JVM of its own ({@link CdcInvalidatorProcess}), to be killed or paused. */
  default boolean listenerInOwnJvm() {
    return false;
  }

  /** Before the workload starts. */
  default void prepare(FaultTarget target) {}

  /** The fault window starts: break something. Called for timed faults only. */
  default void inject(FaultTarget target) throws Exception {
    throw new IllegalStateException(getClass().getSimpleName() + " is not a timed fault");
  }

  /** The fault window ends: a fault that heals now does so here; one that lasts until {@link #heal} does nothing. */
  default void end(FaultTarget target) throws Exception {}

  /** The workload stopped: every hold of this fault ends now. */
  default void releaseHolds() {}

  /** After the run (and after a failed one): undoes what is left of this fault. Idempotent. */
  default void heal(FaultTarget target) {}
}
