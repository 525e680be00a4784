package dev.veracache.chaos;

import java.time.Duration;

/**
 * One chaos run, as data: which strategy, which fault, how long, how hard.
 *
 * @param name shown in the report
 * @param strategy the caching strategy under test
 * @param fault the fault injected while the workload runs
 * @param duration how long readers and the writer run
 * @param keys how many keys (chosen with a Zipf distribution, exponent 1.1: a few hot keys)
 * @param instances how many cache instances (each its own client, connections and L1), standing for JVMs
 * @param readersPerInstance reader threads per instance
 * @param writesPerSecond the writer's rate (database update, then the strategy's own post-write step)
 * @param slowFillMillis for SLOW_FILL: how long a fill is held after its load (widens race R1)
 * @param window W: how long the cache may take to catch up before a read counts as stale
 * @param seed for the key choice and the fault's randomness
 */
public record Scenario(String name, Strategy strategy, Fault fault, Duration duration, int keys, int instances,
    int readersPerInstance, int writesPerSecond, int slowFillMillis, Duration window, long seed) {

  /** The strategies compared. */
  public enum Strategy {
    /** Delete after write, no fences, no CDC. */
    NAIVE,
    /** Delete, write, delete again after a delay (the classic "delayed double delete"). */
    DOUBLE_DELETE,
    /** Veracache fenced cache-aside: the application invalidates after commit, and the CDC listener does too. */
    VERACACHE_CDC
  }

  /** The faults that can be injected. */
  public enum Fault {
    NONE,
    /** Every fill is held {@code slowFillMillis} between its load and its fill (R1, R3). */
    SLOW_FILL,
    /**
     * Redis is paused (SIGSTOP) for the middle third of the run: calls time out, pushes stop, nothing says so. Deletes
     * sent meanwhile are executed when it resumes (they sat in its socket), so this measures availability and how
     * long L1 keeps serving what it can no longer hear about.
     */
    REDIS_PAUSE,
    /**
     * Redis refuses writes for the middle third of the run (it is made a replica of a dead primary, as in a botched
     * failover; it keeps its data): deletes fail and are gone unless someone retries them (R2).
     */
    REDIS_READONLY
  }

  /**
   * CI-sized defaults: 20 keys, 2 instances with 2 readers each, 100 writes/s, 30 ms slow fills. W is 200 ms; under a
   * Redis fault an instance needs up to heartbeat + timeout + degradedL1Ttl to notice (100 + 300 + 100 ms in the
   * chaos configuration), so W is 1 s with Redis paused and 500 ms with Redis read-only.
   */
  public static Scenario of(String name, Strategy strategy, Fault fault, Duration duration, long seed) {
    Duration window = switch (fault) {
      case REDIS_PAUSE -> Duration.ofSeconds(1);
      case REDIS_READONLY -> Duration.ofMillis(500);
      default -> Duration.ofMillis(200);
    };
    return new Scenario(name, strategy, fault, duration, 20, 2, 2, 100, 30, window, seed);
  }
}
