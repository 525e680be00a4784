package dev.veracache.chaos.workload;

import dev.veracache.CacheLoader;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.testing.CacheHooks;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * What every strategy instance of one run shares: the scenario, the workload, the history, the write signals, the
 * race injection (the fault's {@link RaceInjection}, called through {@link CacheHooks} on racing threads), what the
 * fault injection counted ({@link FaultMeasures}) and the instrumented loader. Also attributes each read to the level
 * that answered it: a read starts as L1, becomes L2 when Redis had an answer for it (or it waited for another loader's
 * fill), and DATABASE when it ran the loader (a thread-local, since cache code calls hooks and loaders on the reader's
 * thread).
 *
 * <p>Invariants: every hold is bounded by {@code raceHoldMillis} per step and ends at once when the workload stops
 * ({@link WriteSignals#release()}, the fault's own {@code releaseHolds()}); only racing threads are held
 * ({@link Scenario#readerRaces}, {@link Scenario#writerRaces}); every hold a newer write overtook is counted
 * ({@link #HOLDS_OVERTAKEN}); a hold that proves its race happened (a fill overtaken by a newer write, a set released
 * by a delete, a fill or set released by its key's eviction) is counted under the proving measure of its fault and
 * owes a read of its key W after the change that should have fenced it ({@link #oweRead}).
 */
public final class RunContext {

  private static final ThreadLocal<History.Level> LEVEL = new ThreadLocal<>();
  /** What the loader answered last within the calling thread's read in progress (a version or NOT_FOUND). */
  private static final ThreadLocal<Long> LOADER_ANSWER = new ThreadLocal<>();
  /** Whether the race injections hold this thread's fills and sets (see racingReadersPerInstance, racingWriters). */
  private static final ThreadLocal<Boolean> RACING = ThreadLocal.withInitial(() -> Boolean.TRUE);
  /**
   * Holds that a newer write overtook (a fill, a Redis reply or a set that then landed late): the race happened. The
   * proving measure of every race injection, for every strategy: if the library's hooks stopped firing, it stays 0.
   */
  public static final String HOLDS_OVERTAKEN = "holds overtaken";
  /**
   * What a Veracache fence refused in the whole run (fills refused by lease or version, sets refused or left as a
   * tombstone, L1 answers dropped for an invalidation in flight), natural races between instances included: shown, not
   * proving (see {@link #HELD_WRITES_REFUSED}).
   */
  public static final String FENCE_REFUSALS = "fence refusals";
  /**
   * Held fills, sets and L1 answers that a newer write overtook and that the fence then refused, as the library
   * reports each decision on the held thread ({@code CacheHooks.fenceDecided}): the proving measure of a race
   * injection for Veracache strategies, since the race targets a fence.
   */
  public static final String HELD_WRITES_REFUSED = "held writes refused";
  /** Whether this thread's last hold was overtaken, until the fence decided on its write. */
  private static final ThreadLocal<Boolean> OVERTAKEN_HOLD = ThreadLocal.withInitial(() -> Boolean.FALSE);

  /** A read owed after a race landed: of {@code key}, once {@code dueNanos} ({@link System#nanoTime()}) has come. */
  public record OwedRead(String key, long dueNanos) implements Delayed {
    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(dueNanos, ((OwedRead) other).dueNanos);
    }
  }

  public final Scenario scenario;
  public final Scenario.Strategy strategy;
  public final Workload workload;
  public final History history;
  public final WriteSignals signals;
  public final String namespace;
  /** What the fault injection counted in this run. */
  public final FaultMeasures measures = new FaultMeasures();
  /** Reads owed after a late fill or set landed (see {@link #owedRead()}). */
  private final DelayQueue<OwedRead> owedReads = new DelayQueue<>();
  /**
   * Reads owed by a reader's hold, taken by the readers of that reader's instance first: what a late reply left in an
   * instance's own L1 (R7) is only seen there.
   */
  private final java.util.concurrent.ConcurrentHashMap<Integer, DelayQueue<OwedRead>> owedReadsByInstance =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** The instance of the calling reader thread; null on writer threads. */
  private static final ThreadLocal<Integer> READER_INSTANCE = new ThreadLocal<>();
  /** How the scenario's fault holds racing threads ({@link RaceInjection#NONE} for a timed fault or none). */
  private final RaceInjection race;
  /** Race injections plus level attribution, for the caches' hooks. */
  public final CacheHooks hooks;
  /** The batches an in-process CDC listener receives (see {@link #awaitCdcApplied}). */
  public final CdcHooks cdcHooks = new CdcHooks() {
    @Override
    public void beforeApply(List<KeyInvalidation> invalidations) {
      cdcBatchReceived(invalidations);
    }
  };
  private final Object cdcBatches = new Object();
  /** Batches the CDC listener received so far; every one before the newest has been applied (they go in turn). */
  private long cdcBatchCount;
  /** Per cache key: the newest batch that invalidated it, and when that batch was received. */
  private final Map<String, long[]> cdcBatchOfKey = new HashMap<>();
  /** The database read behind every cache: recorded as a load, attributed, slowed by {@code loadDelayMillis}. */
  public final CacheLoader<String, String> loader = this::load;

  public RunContext(Scenario scenario, Scenario.Strategy strategy, Workload workload, History history,
      WriteSignals signals, String namespace, RaceInjection race) {
    this.scenario = scenario;
    this.strategy = strategy;
    this.workload = workload;
    this.history = history;
    this.signals = signals;
    this.namespace = namespace;
    this.race = race;
    this.hooks = new RaceHooks();
  }

  /** Counts a hold that a newer write overtook, remembers it for the fence's decision, and says whether it was. */
  private boolean overtaken(boolean overtaken) {
    OVERTAKEN_HOLD.set(overtaken);
    if (overtaken) {
      measures.increment(HOLDS_OVERTAKEN);
    }
    return overtaken;
  }

  /** The fence decided on this thread's write: a refused write whose hold was overtaken proves the fence held. */
  void fenceDecided(boolean accepted) {
    if (OVERTAKEN_HOLD.get()) {
      OVERTAKEN_HOLD.set(false);
      if (!accepted) {
        measures.increment(HELD_WRITES_REFUSED);
      }
    }
  }

  /** The cache key of a full Redis key ({@code namespace:key}). */
  public String keyOf(String redisKey) {
    int colon = redisKey.indexOf(':');
    return colon < 0 ? redisKey : redisKey.substring(colon + 1);
  }

  /** Marks the calling reader or writer thread as one whose fills and sets are held, or not. */
  public static void racing(boolean racing) {
    RACING.set(racing);
  }

  /**
   * A read that has come due, if any (then taken): after a held fill or set landed past the change that should have
   * fenced it (an eviction for R14, a delete for R13), the next free reader reads that key once W has passed since
   * that change committed. So what the late fill or set left is looked at whatever the machine's load, instead of
   * hoping that a reader happens by before the key is written again.
   */
  public OwedRead owedRead() {
    Integer instance = READER_INSTANCE.get();
    OwedRead own = instance == null ? null : owedReadsOf(instance).poll();
    return own != null ? own : owedReads.poll();
  }

  /** Marks the calling thread as a reader of {@code instance} (its owed reads go to that instance's readers). */
  public static void readerOf(int instance) {
    READER_INSTANCE.set(instance);
  }

  private DelayQueue<OwedRead> owedReadsOf(int instance) {
    return owedReadsByInstance.computeIfAbsent(instance, i -> new DelayQueue<>());
  }

  /**
   * Owes a read of {@code key} W (and a millisecond) after the newest commit of it: a race injection calls this once a
   * held fill or set is let go past the change that should have fenced it. On a workload thread the read comes due no
   * earlier than the end of the thread's current read or write ({@link #endOperation}), when the late fill or set has
   * landed: a read due before it landed (a hold that outlasted W, as an eviction wait or a loaded machine can make it)
   * would look at the key before the late write is there. Elsewhere (a thread of the library's own) it comes due a
   * margin after this call.
   */
  public void oweRead(String key) {
    long afterWindow = signals.lastCommittedNanos(key) + TimeUnit.MILLISECONDS.toNanos(scenario.windowMillis() + 1);
    Integer instance = READER_INSTANCE.get();
    keysAwaitingOwedRead.merge(key, 1, Integer::sum);
    List<PendingOwedRead> pending = OWED_AT_OPERATION_END.get();
    if (pending != null) {
      pending.add(new PendingOwedRead(key, afterWindow, instance));
      return;
    }
    long afterLanding = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(OWED_READ_AFTER_LANDING_MILLIS);
    owe(new PendingOwedRead(key, afterWindow, instance), afterLanding);
  }

  /** A workload thread begins a read or a write: what it owes comes due no earlier than its end. */
  public static void beginOperation() {
    OWED_AT_OPERATION_END.set(new ArrayList<>(1));
    LOADED.remove();
  }

  /** The workload thread's read or write ended (its late fill or set, if any, landed): its owed reads are queued. */
  public void endOperation() {
    List<PendingOwedRead> pending = OWED_AT_OPERATION_END.get();
    OWED_AT_OPERATION_END.remove();
    LOADED.remove();
    if (pending == null) {
      return;
    }
    long now = System.nanoTime();
    for (PendingOwedRead owed : pending) {
      owe(owed, now);
    }
  }

  private void owe(PendingOwedRead owed, long notBeforeNanos) {
    OwedRead read = new OwedRead(owed.key(), Math.max(owed.afterWindowNanos(), notBeforeNanos));
    (owed.instance() == null ? owedReads : owedReadsOf(owed.instance())).add(read);
  }

  /** A reader did the owed read of {@code key} (whatever it returned): the key may be written again. */
  public void owedReadDone(String key) {
    keysAwaitingOwedRead.computeIfPresent(key, (k, count) -> count > 1 ? count - 1 : null);
  }

  /**
   * Whether a cache key of {@code row} ({@code k<row>}, or its SKU key {@code a<row>} or {@code b<row>}) awaits an owed
   * read: the writers leave such a row alone until it is done, so what a late fill or set left is looked at before the
   * next write of the row can delete it, however late a loaded machine makes the reader (without it, a late fill on a
   * hot row was often gone before its read came, and a baseline's race showed nothing).
   */
  public boolean rowAwaitsOwedRead(int row) {
    if (keysAwaitingOwedRead.isEmpty()) {
      return false;
    }
    return keysAwaitingOwedRead.containsKey("k" + row) || keysAwaitingOwedRead.containsKey("a" + row)
        || keysAwaitingOwedRead.containsKey("b" + row);
  }

  /** Per cache key: owed reads queued or pending and not yet done. */
  private final java.util.concurrent.ConcurrentHashMap<String, Integer> keysAwaitingOwedRead =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** A read owed by an operation still in progress: queued when it ends. */
  private record PendingOwedRead(String key, long afterWindowNanos, Integer instance) {}

  /** The reads owed by the calling workload thread's read or write in progress; null outside one. */
  private static final ThreadLocal<List<PendingOwedRead>> OWED_AT_OPERATION_END = new ThreadLocal<>();

  /** How long after a held fill or set is let go, on a thread that is not the workload's, its owed read comes due. */
  private static final long OWED_READ_AFTER_LANDING_MILLIS = 20;

  public static void beginRead() {
    LEVEL.set(History.Level.L1);
    LOADER_ANSWER.remove();
  }

  /** What the loader answered last within the calling thread's read, {@link History#NO_LOAD} if it ran none; clears. */
  public static long loaderAnswer() {
    Long answer = LOADER_ANSWER.get();
    LOADER_ANSWER.remove();
    return answer == null ? History.NO_LOAD : answer;
  }

  public static History.Level endRead() {
    History.Level level = LEVEL.get();
    LEVEL.remove();
    return level == null ? History.Level.CACHE : level;
  }

  public static void answeredByRedis() {
    if (LEVEL.get() == History.Level.L1) {
      LEVEL.set(History.Level.L2);
    }
  }

  private String load(String key) throws Exception {
    long start = System.nanoTime();
    if (LEVEL.get() != null) {
      LEVEL.set(History.Level.DATABASE);
    }
    try {
      if (scenario.workload().loadDelayMillis() > 0) {
        Thread.sleep(scenario.workload().loadDelayMillis()); // the injected slow query (R9)
      }
      long version = workload.load(key);
      if (LEVEL.get() != null) {
        LOADER_ANSWER.set(version);
      }
      if (version != History.NOT_FOUND && OWED_AT_OPERATION_END.get() != null) {
        LOADED.set(new LoadedVersion(key, version));
      }
      return version == History.NOT_FOUND ? null : Long.toString(version);
    } finally {
      history.load(key, start, System.nanoTime());
    }
  }

  /** A racing thread's fill is about to land (after its load): the race injection may hold it (R1, R3, R12, R14). */
  public void holdFill(String key) {
    if (signals.holding() && RACING.get()) {
      race.holdFill(this, key);
    }
  }

  /** Whether the race injections still hold threads: false once the workload stopped. */
  public boolean holding() {
    return signals.holding();
  }

  /**
   * Holds the calling thread until a write of {@code key} newer than the last one committed now has settled, at most
   * {@code raceHoldMillis}; counts the hold if it was overtaken, and says whether it was.
   */
  public boolean awaitNewerWrite(String key) {
    long seen = signals.lastCommitted(key);
    LoadedVersion loaded = LOADED.get();
    if (loaded != null && loaded.key().equals(key)) {
      // The load can see a commit whose writer has not recorded it yet (descheduled between its commit and the
      // signal, as a loaded machine does): waiting for "a write newer than the last recorded" would then let the
      // fill go after the very write it loaded, overtaken by nothing, and count it as a race.
      seen = Math.max(seen, loaded.version());
    }
    return overtaken(signals.awaitSettledAfter(key, seen, scenario.raceInjection().raceHoldMillis()));
  }

  /** The version the calling thread's current read loaded of a key ("not found" is not recorded). */
  private record LoadedVersion(String key, long version) {}

  private static final ThreadLocal<LoadedVersion> LOADED = new ThreadLocal<>();

  /** As {@link #awaitNewerWrite}, for a set of {@code version}: until a write newer than it settled. */
  public boolean awaitNewerSet(String key, long version) {
    return overtaken(signals.awaitSettledAfter(key, version, scenario.raceInjection().raceHoldMillis()));
  }

  /**
   * As {@link #awaitNewerWrite}, for a set of {@code version}: until a delete newer than it settled. Asks the
   * delete-only writers for that delete first ({@link #awaitDeleteRequest}), so the race comes on every held set
   * instead of when a delete of the same row happens to fall within the hold.
   */
  public boolean awaitNewerDelete(String key, long version) {
    deleteRequests.add(key);
    return overtaken(signals.awaitDeleteSettledAfter(key, version, scenario.raceInjection().raceHoldMillis()));
  }

  /**
   * For a delete-only writer: the cache key a held set waits for a delete of ({@link #awaitNewerDelete}), taken, or
   * null once {@code timeoutNanos} passed without one (the writer then deletes a row of its own choosing).
   */
  public String awaitDeleteRequest(long timeoutNanos) throws InterruptedException {
    return deleteRequests.poll(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
  }

  /** Cache keys whose held set waits for a delete of its row, oldest first. */
  private final LinkedBlockingQueue<String> deleteRequests = new LinkedBlockingQueue<>();

  private void cdcBatchReceived(List<KeyInvalidation> invalidations) {
    long now = System.nanoTime();
    synchronized (cdcBatches) {
      cdcBatchCount++;
      for (KeyInvalidation invalidation : invalidations) {
        if (invalidation.namespace().equals(namespace)) {
          cdcBatchOfKey.put(invalidation.key(), new long[] {cdcBatchCount, now});
        }
      }
      cdcBatches.notifyAll();
    }
  }

  /**
   * R13 with a CDC listener in this JVM: waits until the listener has applied a batch that invalidated {@code key} and
   * was received after {@code sinceNanos} (a later batch has begun: the listener applies them in turn), at most
   * {@code timeoutMillis}. So a late set lands after every invalidation of the delete, the listener's included, as a
   * set stalled by a long pause would. Returns at once without a listener in this JVM (none reports batches).
   */
  public void awaitCdcApplied(String key) {
    awaitCdcApplied(key, signals.lastCommittedNanos(key), scenario.raceInjection().raceHoldMillis());
  }

  private void awaitCdcApplied(String key, long sinceNanos, long timeoutMillis) {
    if (!strategy.usesCdc) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (cdcBatches) {
      while (signals.holding()) {
        long[] batch = cdcBatchOfKey.get(key);
        if (batch != null && batch[1] >= sinceNanos && batch[0] < cdcBatchCount) {
          return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(cdcBatches, Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Redis answered a racing thread's read of {@code key}: the race injection may hold the reply (R7). */
  public boolean holdRedisReply(String key) {
    return signals.holding() && RACING.get() && race.holdRedisReply(this, key);
  }

  /** A racing thread's write-through set of {@code version} is about to land: the race injection may hold it. */
  public void holdSet(String key, long version) {
    if (signals.holding() && RACING.get()) {
      race.holdSet(this, key, version);
    }
  }

  /** The race injections as the library's hooks, for Veracache and the naive caches alike. */
  private final class RaceHooks implements CacheHooks {
    @Override
    public void afterRedisRead(String redisKey) {
      answeredByRedis();
      holdRedisReply(keyOf(redisKey));
    }

    @Override
    public void afterLoad(String redisKey) {
      holdFill(keyOf(redisKey));
    }

    @Override
    public void beforeLeaseWait(String redisKey) {
      answeredByRedis(); // another instance's fill, read from Redis, unless the wait ends in a load of its own
    }

    @Override
    public void beforeVersionedSet(String redisKey, long version) {
      holdSet(keyOf(redisKey), version);
    }

    @Override
    public void fenceDecided(String redisKey, boolean accepted) {
      RunContext.this.fenceDecided(accepted);
    }
  }

  /**
   * One writer thread's connection and randomness; commits through the workload and records what it did. A
   * delete-only writer ({@link Scenario#deleteOnlyWriters()}) only deletes rows.
   */
  public final class Writer {
    final Connection connection;
    final Random random;
    final boolean deletesOnly;

    public Writer(Connection connection, Random random, boolean deletesOnly) {
      this.connection = connection;
      this.random = random;
      this.deletesOnly = deletesOnly;
    }

    /**
     * What the next write is to be. Write-through writers choose before the write (the cache call differs): a delete
     * with probability {@code deleteFraction}; the others let the workload choose.
     */
    public Workload.Intent nextIntent() {
      if (deletesOnly) {
        return Workload.Intent.DELETE;
      }
      if (!strategy.writeThrough()) {
        return Workload.Intent.ANY;
      }
      return scenario.workload().deleteFraction() > 0 && random.nextDouble() < scenario.workload().deleteFraction()
          ? Workload.Intent.DELETE : Workload.Intent.UPSERT;
    }

    /** Commits one write of the row, records it in the history and the signals. */
    public Workload.Commit commit(int row) throws Exception {
      return commit(row, deletesOnly ? Workload.Intent.DELETE : Workload.Intent.ANY);
    }

    /** Commits one write of the row as {@code intent} asks, records it in the history and the signals. */
    public Workload.Commit commit(int row, Workload.Intent intent) throws Exception {
      Workload.Commit commit = workload.write(connection, row, random, intent);
      long now = System.nanoTime();
      for (History.Write effect : commit.effects()) {
        history.write(effect.key(), effect.version(), commit.sentNanos(), now, effect.deleted());
        signals.committed(effect.key(), effect.version(), now);
      }
      return commit;
    }

    /** The strategy's post-write steps for this commit are done. */
    public void settle(Workload.Commit commit) {
      for (History.Write effect : commit.effects()) {
        signals.settled(effect.key(), effect.version(), effect.deleted());
      }
    }
  }
}
