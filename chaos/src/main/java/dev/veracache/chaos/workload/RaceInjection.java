package dev.veracache.chaos.workload;

/**
 * How a race injection holds a racing thread at the moment its race can happen: a fill about to land, a Redis reply
 * about to be used, a write-through set about to be sent. {@link RunContext} calls it from the caches' hooks, only on
 * racing threads and only while the workload runs; an implementation holds with {@link RunContext#awaitNewerWrite}
 * and its kin (each bounded by {@code raceHoldMillis}, each ending at once when the workload stops), counts what
 * proves its race happened, and owes a read of the key ({@link RunContext#oweRead}) when a held write was let go past
 * the change that should have fenced it. The race injections are the fault package's {@code RaceInjections}.
 */
public interface RaceInjection {

  /** Holds nothing: a timed fault, or none. */
  RaceInjection NONE = new RaceInjection() {};

  /** A fill of {@code key} is about to land, after its load. */
  default void holdFill(RunContext context, String key) {}

  /** Redis answered a read of {@code key}; returns whether a newer write settled while the reply was held. */
  default boolean holdRedisReply(RunContext context, String key) {
    return false;
  }

  /** A write-through set of {@code version} of {@code key} is about to land. */
  default void holdSet(RunContext context, String key, long version) {}
}
