package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.RunContext;
import java.util.ArrayList;
import java.util.List;

/**
 * EVICTION_RACE (R14): Redis evicts keys under memory pressure ({@link RedisMemoryPressure}: a small
 * {@code maxmemory}, filler keys outside the namespaces); each fill is held until a newer write settled and then
 * until what that write left in Redis was evicted, and each write-through set the same way.
 *
 * <p>Invariants: the pressure starts before any reader ({@link #prepare}) and is lifted by {@link #heal}, which
 * restores Redis's memory limit, eviction policy and keyspace events; every wait for an eviction ends at once when the
 * workload stops ({@link #releaseHolds}).
 */
final class EvictionRace extends RaceInjections.Race {

  /** R14: fills and sets that landed after their key's record was evicted (the proving measure). */
  static final String HELD_PAST_EVICTION = "fills/sets held past an eviction";
  static final String KEYS_EVICTED = "keys evicted";

  /** Set by {@link #prepare}, before any reader starts. */
  private volatile RedisMemoryPressure pressure;

  @Override
  List<String> ownProvingMeasures() {
    return List.of(HELD_PAST_EVICTION);
  }

  @Override
  public List<String> provingMeasures(Strategy strategy) {
    List<String> measures = new ArrayList<>(super.provingMeasures(strategy));
    measures.add(KEYS_EVICTED);
    return measures;
  }

  @Override
  public void prepare(FaultTarget target) {
    Scenario.FaultSpec spec = target.context().scenario.fault();
    pressure = RedisMemoryPressure.start(target.stack().redis().uri(),
        RedisMemoryPressure.Spec.of(spec.evictionPolicy(), spec.memoryHeadroomKib() * 1024L));
  }

  @Override
  public void holdFill(RunContext context, String key) {
    if (context.awaitNewerWrite(key)) {
      holdUntilEvicted(context, key);
    }
  }

  @Override
  public void holdSet(RunContext context, String key, long version) {
    if (context.awaitNewerSet(key, version)) {
      holdUntilEvicted(context, key);
    }
  }

  /**
   * After the write that should fence it settled, a fill or set waits until what that write left in Redis (a
   * tombstone, a lease cancelled, a newer value) is gone: evicted under memory pressure. A key already absent (a naive
   * delete, or an eviction before this looked) lets it go at once, uncounted.
   */
  private void holdUntilEvicted(RunContext context, String key) {
    RedisMemoryPressure pressure = this.pressure;
    if (pressure == null) {
      return; // healed: the run is over
    }
    String redisKey = context.namespace + ":" + key;
    long seen = pressure.evictionsOf(redisKey);
    if (pressure.absent(redisKey)) {
      return;
    }
    if (pressure.awaitEvictionAfter(redisKey, seen, context.scenario.raceInjection().raceHoldMillis())
        && context.holding()) {
      context.measures.increment(HELD_PAST_EVICTION);
      context.oweRead(key);
    }
  }

  @Override
  public void releaseHolds() {
    RedisMemoryPressure pressure = this.pressure;
    if (pressure != null) {
      pressure.releaseWaiters();
    }
  }

  @Override
  public void heal(FaultTarget target) {
    RedisMemoryPressure pressure = this.pressure;
    if (pressure == null) {
      return;
    }
    try {
      if (target.context() != null) {
        target.context().measures.add(KEYS_EVICTED, pressure.evictedKeys());
      }
    } finally {
      pressure.close();
      this.pressure = null;
    }
  }
}
