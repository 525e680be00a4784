package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.RaceInjection;
import dev.veracache.chaos.workload.RunContext;
import java.util.ArrayList;
import java.util.List;

/**
 * The race injections: faults that act for the whole run by holding racing threads (a fill, a Redis reply, a cache
 * set) until a newer write overtook them, so that each race of the catalogue happens on every run instead of by luck.
 * Each proves itself by its holds overtaken ({@link RunContext#HOLDS_OVERTAKEN}) and, for a Veracache strategy, by
 * the held writes its fence refused ({@link RunContext#HELD_WRITES_REFUSED}).
 */
final class RaceInjections {

  private RaceInjections() {}

  /** What every race injection shares: its holds are its {@link RaceInjection}, and its proving measures. */
  abstract static class Race implements Fault, RaceInjection {

    @Override
    public RaceInjection raceInjection() {
      return this;
    }

    /** The counts that prove this race in particular, shown before the ones every race has. */
    List<String> ownProvingMeasures() {
      return List.of();
    }

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      List<String> measures = new ArrayList<>(ownProvingMeasures());
      measures.add(RunContext.HOLDS_OVERTAKEN);
      if (!strategy.baseline) {
        measures.add(RunContext.HELD_WRITES_REFUSED);
      }
      return measures;
    }
  }

  /** FILL_RACE: every fill is held until a write that committed after its load settled (R1, R3; longer for R12). */
  static final class FillRace extends Race {
    @Override
    public void holdFill(RunContext context, String key) {
      if (context.awaitNewerWrite(key)) {
        // The late fill lands once this returns: whatever it leaves is looked at W after the write that overtook it,
        // whether or not a reader happens by before the key is written again (R1, R3, R12).
        context.oweRead(key);
        int delay = context.scenario.raceInjection().fillDelayAfterWriteMillis();
        if (delay > 0) {
          sleep(delay); // outlive short tombstones (R12)
        }
      }
    }
  }

  /** GET_REPLY_RACE: a Redis GET's reply is held until a newer write of the key settled (R7). */
  static final class GetReplyRace extends Race {
    @Override
    public boolean holdRedisReply(RunContext context, String key) {
      boolean overtaken = context.awaitNewerWrite(key);
      if (overtaken) {
        context.oweRead(key); // what the late reply left in this instance's L1 is looked at W after the newer write
      }
      return overtaken;
    }
  }

  /** SET_REORDER: a write-through cache set is held until a newer write's set settled (R4). */
  static final class SetReorder extends Race {
    @Override
    public void holdSet(RunContext context, String key, long version) {
      context.awaitNewerSet(key, version);
    }
  }

  /** SET_VS_DELETE: a write-through cache set is held until a delete of its row committed and settled (R13). */
  static final class SetVsDelete extends Race {
    /** R13: write-through sets that landed after a delete of their row (the proving measure). */
    static final String SETS_AFTER_DELETE = "sets held past a delete";

    @Override
    List<String> ownProvingMeasures() {
      return List.of(SETS_AFTER_DELETE);
    }

    @Override
    public void holdSet(RunContext context, String key, long version) {
      if (context.awaitNewerDelete(key, version)) {
        context.awaitCdcApplied(key); // the listener's invalidation of the delete lands first too
        context.measures.increment(SETS_AFTER_DELETE);
        context.oweRead(key);
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
