package dev.veracache.chaos.scenario;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One chaos scenario, as data (see {@code scenarios.yaml} and {@link ScenarioCatalog}): a fault or race injection, the
 * workload it runs under, the strategies compared, and the anomaly each baseline is known for. Each strategy is run
 * separately on the same workload (same seed); {@code check.Expectations} judges the result. The file is flat (one
 * key per field, see {@link ScenarioCatalog}); here the fields are grouped into the workload, the race injection, the
 * fault and the caches' configuration.
 *
 * @param id short name, used on the command line ({@code r1-stale-fill})
 * @param race the entry of the race catalogue it covers (R1-R18), or a fault name
 * @param title shown in the report
 * @param description what happens, in one or two sentences
 * @param strategies the strategies compared, baselines first
 * @param expect for each baseline: the anomalies it must show (every Veracache strategy must show none)
 * @param seconds how long readers and writers run
 * @param windowMillis W: how long the cache may take to catch up with a commit before a read counts as stale; when a
 *     file leaves it out, the catalogue derives it ({@link #derivedWindowMillis}); a W set by hand must be at least the
 *     detection budget, and leave reads to judge ({@link #judgeabilityProblem})
 * @param workload the readers, writers and rows
 * @param raceInjection how the race injections hold threads
 * @param fault what is injected, and how
 * @param cache the strategies' configuration
 * @param herdThreshold if positive: a "herd" is this many loads of one key at once (R9)
 * @param minCacheHitPercent the least share of answered reads, outside the fault and its recovery (W after it), that a
 *     Veracache strategy must answer from L1 or Redis: a read path that always goes to the database is not a cache;
 *     after a timed fault's recovery alone too: a cache that never recovered from the fault is not a cache either
 * @param minAvailabilityInFaultPercent the least share of the reads that started during a timed fault that a Veracache
 *     strategy must answer (the contract's "basically available": Redis down or slow, reads go to the database); the
 *     database's own outage is the exception, where only cached keys can be answered
 */
public record Scenario(String id, String race, String title, String description, List<Strategy> strategies,
    Map<Strategy, Set<Anomaly>> expect, int seconds, int windowMillis, WorkloadSpec workload, RaceSpec raceInjection,
    FaultSpec fault, CacheSpec cache, int herdThreshold, int minCacheHitPercent, int minAvailabilityInFaultPercent) {

  /**
   * The readers, writers and rows of a scenario.
   *
   * @param keys rows (chosen with a Zipf distribution, exponent 1.1: a few hot rows)
   * @param instances cache instances (each its own Redis connections and L1), standing for JVMs
   * @param readersPerInstance reader threads per instance
   * @param readsPerSecondPerReader each reader's pace: unpaced readers hitting L1 would take both cores from the
   *     database, Redis, the CDC listener and the push thread, and measure starvation instead of the cache
   * @param writers writer threads
   * @param writesPerSecond the writers' total rate
   * @param deleteFraction share of writes that delete the row (deleted rows are re-inserted by later writes; R10)
   * @param alternateKeys rows are cached by primary key and by SKU, and updates may move the SKU (R11)
   * @param skuChangeFraction share of updates that move the SKU (with alternate keys)
   * @param writersShareKeys every writer writes the same key sequence, so writes of one key overlap (R4)
   * @param deleteOnlyWriters the last this many writers only delete rows (the others insert them again); write-through
   *     strategies delete through the cache (R13)
   * @param loadDelayMillis added to every database load by the cache (R9: a slow query)
   */
  public record WorkloadSpec(int keys, int instances, int readersPerInstance, int readsPerSecondPerReader, int writers,
      int writesPerSecond, double deleteFraction, boolean alternateKeys, double skuChangeFraction,
      boolean writersShareKeys, int deleteOnlyWriters, int loadDelayMillis) {}

  /**
   * How a race injection (FILL_RACE and the like) holds threads.
   *
   * @param raceHoldMillis the longest a race injection holds a thread (a fill, a Redis reply, a cache set)
   * @param fillDelayAfterWriteMillis extra hold of a fill after the write it waited for settled (R12: outlive a
   *     tombstone)
   * @param racingReadersPerInstance how many readers of each instance have their fills (and Redis replies, R7) held by
   *     a race injection (-1: all); the others keep reading, and see what the held fills leave behind
   * @param racingWriters how many writers (the first ones) have their cache sets held by a race injection (-1: all);
   *     the others write freely, so that a held set always has a newer write to wait for
   */
  public record RaceSpec(int raceHoldMillis, int fillDelayAfterWriteMillis, int racingReadersPerInstance,
      int racingWriters) {

    /** Whether reader {@code reader} (0-based, per instance) has its fills held by the race injection. */
    public boolean readerRaces(int reader) {
      return racingReadersPerInstance < 0 || reader < racingReadersPerInstance;
    }

    /** Whether writer {@code writer} (0-based) has its cache sets held by the race injection. */
    public boolean writerRaces(int writer) {
      return racingWriters < 0 || writer < racingWriters;
    }
  }

  /**
   * What is injected (in the file: {@code fault}, {@code faultFraction}, {@code latencyMillis},
   * {@code evictionPolicy}, {@code memoryHeadroomKib}).
   *
   * @param kind the fault or race injection
   * @param faultFraction the share of the run a timed fault is active, centred in it (1/3: the middle third)
   * @param latencyMillis one-way latency added by the proxy (REDIS_LATENCY)
   * @param evictionPolicy Redis's {@code maxmemory-policy} under EVICTION_RACE: allkeys-random, allkeys-lru or
   *     allkeys-lfu
   * @param memoryHeadroomKib under EVICTION_RACE, Redis's {@code maxmemory} is what it uses at the start plus this; the
   *     filler writes 2,000 keys of 1 KiB a second, so a key lives about {@code memoryHeadroomKib / 2000} seconds
   */
  public record FaultSpec(FaultKind kind, double faultFraction, int latencyMillis, String evictionPolicy,
      int memoryHeadroomKib) {}

  /**
   * The strategies' configuration.
   *
   * @param leaseWaitMillis how long Veracache waits for another loader's fill before loading itself
   * @param tombstoneTtlMillis tombstone lifetime for fenced strategies; 0 for the library default (60 s)
   * @param doubleDeleteDelayMillis the second delete's delay for DOUBLE_DELETE
   * @param listenerStalenessBoundMillis if positive: every Veracache strategy's clients trust Redis and L1 only while
   *     the CDC listener's published progress is at most this far behind ({@code CacheOptions.listenerStalenessBound},
   *     R15, R18); W must then cover twice the bound plus the client heartbeat (see {@link #boundedWindowMillis})
   */
  public record CacheSpec(int leaseWaitMillis, int tombstoneTtlMillis, int doubleDeleteDelayMillis,
      int listenerStalenessBoundMillis) {}

  /** The Veracache clients' heartbeat in every scenario (VeracacheStrategy): how often they poll listener progress. */
  public static final int CLIENT_HEARTBEAT_MILLIS = 100;
  /** The Veracache clients' Redis command timeout in every scenario (VeracacheStrategy). */
  public static final int CLIENT_COMMAND_TIMEOUT_MILLIS = 300;
  /** How long the Veracache clients still serve L1 entries once they suspect missed invalidations (VeracacheStrategy). */
  public static final int CLIENT_DEGRADED_L1_MILLIS = 100;
  /** How long the Veracache clients keep bypassing L1 after Redis came back (VeracacheStrategy). */
  public static final int CLIENT_RECOVERY_GRACE_MILLIS = 300;
  /**
   * What W adds to a scenario's detection budget ({@link #detectionBudgetMillis}) when the catalogue derives it: the
   * time from a commit's return to the cache's own invalidation landing (a Redis round trip and a push, or the CDC
   * listener's binlog read, tens of ms at p99 on this 2-core machine), plus scheduling of many threads on 2 cores.
   */
  public static final int WINDOW_MARGIN_MILLIS = 200;
  /**
   * How many progress publishes of the CDC listener fit in the clients' staleness bound: the library asks for at least
   * two (a client's view of the progress lags by up to one interval plus the binlog's latency).
   */
  public static final int PROGRESS_PUBLISHES_PER_BOUND = 4;

  /** The strategies that can be compared. Baselines exist to show that the checker sees each anomaly. */
  public enum Strategy {
    NAIVE("naive cache-aside", true, false),
    DOUBLE_DELETE("delayed double delete", true, false),
    NAIVE_WRITE_THROUGH("naive write-through", true, false),
    NAIVE_TWO_LEVEL("naive L1 + Redis, invalidations on a second connection", true, false),
    VERSION_FENCE_ONLY("version fence without leases", true, false),
    FORGETFUL_CDC("Veracache, CDC only, listener forgets its position", true, true),
    CDC_ONLY_UNBOUNDED("Veracache cache-aside, CDC only, no listener staleness bound", true, true),
    CDC_NO_LOSS_CHECK("Veracache cache-aside + CDC, the listener ignores data Redis lost", true, true),
    HEAP_WRITE_BEHIND("heap-queue write-behind", true, false),
    VERACACHE_CACHE_ASIDE("Veracache cache-aside + CDC", false, true),
    VERACACHE_READ_THROUGH("Veracache read-through + CDC", false, true),
    VERACACHE_WRITE_THROUGH("Veracache write-through + CDC", false, true),
    VERACACHE_CDC_ONLY("Veracache cache-aside, CDC only", false, true),
    VERACACHE_WRITE_BEHIND("Veracache write-behind on Kafka (producer and flusher JVMs)", false, false);

    public final String label;
    public final boolean baseline;
    public final boolean usesCdc;

    Strategy(String label, boolean baseline, boolean usesCdc) {
      this.label = label;
      this.baseline = baseline;
      this.usesCdc = usesCdc;
    }

    /** The application invalidates after its own writes (CDC-only strategies leave it to the listener). */
    public boolean appInvalidates() {
      return this != FORGETFUL_CDC && this != VERACACHE_CDC_ONLY && this != CDC_ONLY_UNBOUNDED;
    }

    /** Caches through write-through: the database write and the cache set (or delete) in one call. */
    public boolean writeThrough() {
      return this == NAIVE_WRITE_THROUGH || this == VERACACHE_WRITE_THROUGH;
    }

    /**
     * A write-behind in JVMs of its own (a producer that acknowledges puts, and for Veracache a flusher): its run
     * makes writes and no reads, and is judged on lost and out-of-order writes ({@code WriteBehindCrashRun}).
     */
    public boolean writeBehind() {
      return this == HEAP_WRITE_BEHIND || this == VERACACHE_WRITE_BEHIND;
    }

    /** A Veracache strategy whose clients take the scenario's listener staleness bound (baselines never do). */
    public boolean takesListenerBound() {
      return !baseline && usesCdc;
    }
  }

  /** What a run can show. Baselines must show the ones they are known for; Veracache strategies none. */
  public enum Anomaly {
    /** A read returned a version older than one committed more than W before it. */
    STALE_READS,
    /** A cached entry differed from the database after quiescence. */
    STALE_KEYS,
    /** An acknowledged write is not in the database. */
    LOST_WRITES,
    /**
     * The database applied a version of a key after a newer one of that key (a write-behind flushed out of order):
     * counted from the applied-versions history of the run's table ({@code check.AppliedVersions}).
     */
    OUT_OF_ORDER,
    /** {@code herdThreshold} or more loads of one key ran at once. */
    HERD
  }

  /**
   * The same scenario with another duration (the CLI's choice).
   *
   * @throws IllegalArgumentException if W would leave too few reads to judge at that duration
   */
  public Scenario withSeconds(int newSeconds) {
    Scenario sized = resized(newSeconds);
    String problem = sized.judgeabilityProblem();
    if (problem != null) {
      throw new IllegalArgumentException("scenario " + id + " cannot run " + newSeconds + " s: " + problem);
    }
    return sized;
  }

  /**
   * The same scenario without a listener staleness bound: the Veracache clients do not watch the CDC listener's
   * progress and the listener publishes at the library's default interval ({@link #listenerProgressInterval}), W
   * derived again without the bound. For the path that has no progress to bound by: the listener's Kafka mode (it
   * publishes none). Nothing bounds the staleness of an outage then, so such a run is judged on what is still promised
   * (no key stale after quiescence, no write lost), its stale reads measured.
   */
  public Scenario withoutListenerBound() {
    CacheSpec unbounded = new CacheSpec(cache.leaseWaitMillis(), cache.tombstoneTtlMillis(),
        cache.doubleDeleteDelayMillis(), 0);
    Scenario copy = new Scenario(id, race, title, description, strategies, expect, seconds, windowMillis, workload,
        raceInjection, fault, unbounded, herdThreshold, minCacheHitPercent, minAvailabilityInFaultPercent);
    return new Scenario(id, race, title, description, strategies, expect, seconds, copy.derivedWindowMillis(),
        workload, raceInjection, fault, unbounded, herdThreshold, minCacheHitPercent, minAvailabilityInFaultPercent);
  }

  private Scenario resized(int newSeconds) {
    return new Scenario(id, race, title, description, strategies, expect, newSeconds, windowMillis, workload,
        raceInjection, fault, cache, herdThreshold, minCacheHitPercent, minAvailabilityInFaultPercent);
  }

  /**
   * How often the scenario's CDC listener publishes its progress: a quarter of the clients' bound when one is set; an
   * hour (never, in a run) for the CDC_NO_LOSS_CHECK baseline, which also runs with the data-loss policy IGNORE; the
   * library's default otherwise (null).
   */
  public Duration listenerProgressInterval(Strategy strategy) {
    if (strategy == Strategy.CDC_NO_LOSS_CHECK) {
      return Duration.ofHours(1);
    }
    int bound = cache.listenerStalenessBoundMillis();
    if (bound > 0) {
      return Duration.ofMillis(Math.max(10, bound / PROGRESS_PUBLISHES_PER_BOUND));
    }
    return null;
  }

  /**
   * The smallest W that a listener staleness bound B guarantees: a client trusts Redis while the listener was at most B
   * behind at its last poll (at most one heartbeat ago), so an answer it reads then may miss the last B + heartbeat of
   * commits; once it stops trusting, L1 still serves entries younger than B. Hence 2 B + heartbeat.
   */
  public int boundedWindowMillis() {
    return 2 * cache.listenerStalenessBoundMillis() + CLIENT_HEARTBEAT_MILLIS;
  }

  /**
   * What the Veracache configuration of this scenario promises about staleness beyond the margin, in ms: how long a
   * client may serve an answer older than a commit, given its fault. 0 when the cache's own invalidation after the
   * commit is all there is (races, no fault); heartbeat + command timeout + degraded L1 trust when an instance must
   * first notice that Redis is paused, gone, partitioned or dropped its connections (or restarted from an old
   * snapshot); the recovery grace for a read-only Redis (refused invalidations are retried, and reads of their keys
   * bypass Redis and L1 until then); one way's latency for a slow network; 2 B + heartbeat with a listener staleness
   * bound B (see {@link #boundedWindowMillis}). The largest that applies.
   */
  public int detectionBudgetMillis() {
    int budget = fault.kind().detectionBudgetMillis(fault);
    return cache.listenerStalenessBoundMillis() > 0 ? Math.max(budget, boundedWindowMillis()) : budget;
  }

  /** W as the catalogue derives it when a scenario does not set {@code windowMillis}: the budget plus the margin. */
  public int derivedWindowMillis() {
    return detectionBudgetMillis() + WINDOW_MARGIN_MILLIS;
  }

  /**
   * Whether the strategy's invalidations wait for a replica (the clients' {@code invalidationReplicas}, the listener's
   * {@code redisDurability}): a Veracache strategy under a failover that loses writes; not the baseline.
   */
  public boolean invalidationsAwaitAReplica(Strategy strategy) {
    return fault.kind().onRedisCluster() && strategy != Strategy.CDC_NO_LOSS_CHECK;
  }

  /**
   * How long the fault is active, in ms: {@code faultFraction} of the run for a timed fault (the middle of it), the
   * whole run for a race injection or none.
   */
  public long faultMillis() {
    long total = seconds * 1000L;
    return fault.kind().timed ? Math.max(1, Math.round(total * fault.faultFraction())) : total;
  }

  /**
   * Why W leaves too few reads to judge, or null. A read is judged against the commits made more than W before it, so
   * staleness that starts and ends inside the fault is seen only by reads whose cut-off (start - W) falls inside the
   * fault too: W must be at most half the fault (half its reads can be judged against commits made during it), and at
   * most half the run.
   */
  public String judgeabilityProblem() {
    long run = seconds * 1000L;
    if (windowMillis > run / 2) {
      return "W = " + windowMillis + " ms is more than half the run (" + run + " ms): too few reads can be judged; "
          + "lengthen 'seconds'";
    }
    if (fault.kind().timed && windowMillis > faultMillis() / 2) {
      return "W = " + windowMillis + " ms is more than half the fault (" + faultMillis() + " ms of a " + run
          + " ms run): staleness that starts and ends inside the fault could not be counted; lengthen 'seconds' or "
          + "'faultFraction'";
    }
    return null;
  }

  /** The anomalies a run of {@code strategy} must show (none for Veracache strategies). */
  public Set<Anomaly> expected(Strategy strategy) {
    return expect == null ? Set.of() : expect.getOrDefault(strategy, Set.of());
  }
}
