package dev.veracache.chaos;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.strategy.CacheUnderTest;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.commons.math3.distribution.ZipfDistribution;
import org.apache.commons.math3.random.Well19937c;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The readers and writers of one run: readers on every instance at the scenario's pace, writers at its rate, each
 * thread with its own seeded randomness (so a seed replays the same key sequence), until {@link #stop()}.
 *
 * <p>Invariants: every read is recorded in the history, a failed one as FAILED; a write is recorded once committed
 * (by {@link RunContext.Writer}); a failed write is counted ({@link #writeFailures()}) and its writer reconnects.
 */
final class WorkloadThreads {

  private static final Logger log = LoggerFactory.getLogger(ScenarioRunner.class);
  private static final double ZIPF_EXPONENT = 1.1;

  private final RunContext context;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger writeFailures = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();

  WorkloadThreads(RunContext context) {
    this.context = context;
  }

  /** Starts the readers of every instance, then the writers. */
  void start(DatabaseServer db, List<CacheUnderTest> instances, long seed) {
    Scenario scenario = context.scenario;
    for (int i = 0; i < instances.size(); i++) {
      for (int r = 0; r < scenario.workload().readersPerInstance(); r++) {
        int instance = i;
        long readerSeed = seed * 31 + i * 7L + r + 1;
        boolean racing = scenario.raceInjection().readerRaces(r);
        threads.add(start("chaos-reader-" + i + "-" + r, () -> {
          RunContext.racing(racing);
          RunContext.readerOf(instance);
          readLoop(instances.get(instance), instance, rows(scenario, readerSeed), new Random(readerSeed));
        }));
      }
    }
    for (int w = 0; w < scenario.workload().writers(); w++) {
      long writerSeed = scenario.workload().writersShareKeys() ? seed : seed + 1000L * w;
      long writerId = w;
      boolean deletesOnly = w >= scenario.workload().writers() - scenario.workload().deleteOnlyWriters();
      boolean racing = scenario.raceInjection().writerRaces(w);
      threads.add(start("chaos-writer-" + w, () -> {
        RunContext.racing(racing);
        writeLoop(db, instances, rows(scenario, writerSeed), new Random(writerSeed * 13 + writerId), deletesOnly);
      }));
    }
  }

  /** Every thread ends its loop (idempotent). */
  void stop() {
    running.set(false);
  }

  /** Waits for every thread, at most 30 s each. */
  void join() throws InterruptedException {
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
  }

  int writeFailures() {
    return writeFailures.get();
  }

  private static Thread start(String name, Runnable work) {
    Thread thread = new Thread(work, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** One thread's row chooser: ZipfDistribution is not thread-safe, so each thread has its own. */
  private static ZipfDistribution rows(Scenario scenario, long seed) {
    return new ZipfDistribution(new Well19937c(seed), scenario.workload().keys(), ZIPF_EXPONENT);
  }

  /** Reads at the scenario's pace: a read owed after a race when one has come due, else a key by Zipf. */
  private void readLoop(CacheUnderTest cache, int instance, ZipfDistribution rows, Random random) {
    History history = context.history;
    Pacer pacer = new Pacer(context.scenario.workload().readsPerSecondPerReader());
    while (running.get()) {
      pacer.awaitNext();
      RunContext.OwedRead owed = context.owedRead();
      String key = owed != null ? owed.key() : context.workload.cacheKey(rows.sample() - 1, random);
      long start = System.nanoTime();
      RunContext.beginRead();
      RunContext.beginOperation();
      try {
        long version = cache.read(key);
        long end = System.nanoTime();
        History.Level level = RunContext.endRead();
        history.read(key, version, start, end, instance, level, RunContext.loaderAnswer());
      } catch (Exception e) {
        RunContext.endRead(); // the next read's beginRead clears what its loader answered
        history.read(key, History.NOT_FOUND, start, System.nanoTime(), instance, History.Level.FAILED);
      } finally {
        context.endOperation();
        if (owed != null) {
          context.owedReadDone(owed.key());
        }
      }
    }
  }

  /**
   * Writes at the scenario's rate (shared by the writers), each write's post-write steps done by the next instance in
   * turn. A failed write (the database restarting) is counted, and the writer reconnects and goes on.
   */
  private void writeLoop(DatabaseServer db, List<CacheUnderTest> instances, ZipfDistribution rows, Random random,
      boolean deletesOnly) {
    Scenario scenario = context.scenario;
    Pacer pacer = new Pacer((double) scenario.workload().writesPerSecond() / scenario.workload().writers());
    int n = 0;
    Connection connection = null;
    while (running.get()) {
      Integer requestedRow;
      try {
        requestedRow = deletesOnly ? requestedDelete(pacer) : null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      if (requestedRow == null) {
        pacer.awaitNext();
      }
      try {
        if (connection == null) {
          connection = db.connect();
          connection.setAutoCommit(false);
        }
        RunContext.beginOperation();
        try {
          instances.get(n++ % instances.size()).write(context.new Writer(connection, random, deletesOnly),
              requestedRow != null ? requestedRow : rowNotAwaitingARead(rows));
        } finally {
          context.endOperation();
        }
      } catch (Exception e) {
        writeFailures.incrementAndGet();
        log.debug("write failed, reconnecting: {}", e.toString());
        closeQuietly(connection);
        connection = null;
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
    }
    closeQuietly(connection);
  }

  /**
   * For a delete-only writer, until its next slot: the row a held set waits for a delete of (R13), to be deleted at
   * once, or null when the slot came first.
   */
  private Integer requestedDelete(Pacer pacer) throws InterruptedException {
    String key = context.awaitDeleteRequest(pacer.nanosToNextSlot());
    return key == null ? null : Workload.rowOf(key);
  }

  /**
   * The next row by Zipf, passing over rows whose late fill or set awaits its owed read (see
   * {@link RunContext#rowAwaitsOwedRead}); after {@value #ROW_DRAWS} draws, the last one drawn.
   */
  private int rowNotAwaitingARead(ZipfDistribution rows) {
    int row = rows.sample() - 1;
    for (int draw = 1; draw < ROW_DRAWS && context.rowAwaitsOwedRead(row); draw++) {
      row = rows.sample() - 1;
    }
    return row;
  }

  private static final int ROW_DRAWS = 20;

  /** Keeps a loop at a rate: each call returns at the next slot (at once when the loop is behind). */
  private static final class Pacer {
    private final long intervalNanos;
    private long next = System.nanoTime();

    Pacer(double perSecond) {
      this.intervalNanos = (long) (TimeUnit.SECONDS.toNanos(1) / perSecond);
    }

    /** How long until the next slot; not positive when the loop is behind. */
    long nanosToNextSlot() {
      return next + intervalNanos - System.nanoTime();
    }

    void awaitNext() {
      next += intervalNanos;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
    }
  }

  private static void closeQuietly(Connection connection) {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("closing a writer connection failed: {}", e.toString());
      }
    }
  }
}
