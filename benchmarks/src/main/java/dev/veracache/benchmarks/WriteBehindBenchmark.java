package dev.veracache.benchmarks;

import dev.veracache.CacheOptions;
import dev.veracache.CacheWriter;
import dev.veracache.FlusherOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.WriteBehindCache;
import dev.veracache.WriteBehindChange;
import dev.veracache.WriteBehindFlusher;
import dev.veracache.WriteBehindOptions;
import dev.veracache.WriteThroughCache;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.KafkaServer;
import dev.veracache.stack.StackConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;

/**
 * Write-behind against write-through on the embedded MariaDB, Redis and Kafka broker. Not a JMH benchmark: part 2 times
 * an asynchronous pipeline (log to database), and part 1 needs many writer threads against real servers with each
 * operation's latency, which a plain runner reports more simply.
 *
 * <ol>
 *   <li><b>Put throughput and latency</b>: N threads write random keys out of {@code keys} rows for a fixed time
 *       (after a warm-up that is not counted), each value {@code valueBytes} long, through
 *       <ul>
 *         <li>write-through ({@code WriteThroughCache.put}: a versioned UPDATE committed by MariaDB, then a versioned
 *             set in Redis), each thread on its own JDBC connection;</li>
 *         <li>write-behind {@code put} (reserve a version in Redis, Kafka {@code acks=all}, then the versioned set);</li>
 *         <li>write-behind {@code putAsync} with at most {@code inFlight} writes outstanding per thread.</li>
 *       </ul>
 *       Same table schema, same keys, same value. No flusher runs in part 1: it measures the put path (a flusher would
 *       normally run in another process). Latency is call to return (or to the future's completion).</li>
 *   <li><b>Flush lag</b>: {@value #SENDERS} threads issue {@code putAsync} at a steady rate on random keys while a flusher in this
 *       JVM applies the log. Lag of a write = from just before its put was called to the return of the database commit
 *       of the first batch that holds its version or a newer version of its key (a write folded into a newer one
 *       reaches the database with that newer one). Also reported: the flusher's own
 *       {@code veracache.writebehind.flush.lag} timer (record timestamp to after the commit and the cache fence,
 *       bucket upper bounds of its histogram) and the coalescing ratio coalesced / (coalesced + flushed).</li>
 * </ol>
 *
 * <p>Args (all optional, positional): seconds per throughput run (10), thread counts (2,8), keys (1000), value bytes
 * (100), rate in puts/s (2000), rate seconds (15), in-flight per thread for putAsync (64), producer linger.ms ("-" =
 * Kafka's default). The report is printed and written to {@code target/writebehind-report.txt}.
 */
public final class WriteBehindBenchmark {

  /** The benchmark's row and cache value; its version is the row's version column. */
  public record Item(long id, String name, long version) {}

  private static final Duration WARM_UP = Duration.ofSeconds(3);
  private static final int PARTITIONS = 3;
  private static final String WRITE_THROUGH = "write-through put";
  /** Threads that issue the steady-rate putAsync calls (the reserve in Redis runs on the caller's thread). */
  private static final int SENDERS = 4;

  /**
   * A simple registry keeps no histogram for {@code publishPercentileHistogram}: give the flush lag timer fixed buckets
   * (1 ms steps to 10 ms, 5 ms to 100 ms, 10 ms to 1 s, 100 ms to 30 s) so that its percentiles can be read.
   */
  private static final MeterFilter FLUSH_LAG_BUCKETS = new MeterFilter() {
    @Override
    public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
      if (!id.getName().equals("veracache.writebehind.flush.lag")) {
        return config;
      }
      List<Double> bounds = new ArrayList<>();
      for (long ms = 1; ms <= 30_000; ms += ms < 10 ? 1 : ms < 100 ? 5 : ms < 1000 ? 10 : 100) {
        bounds.add((double) TimeUnit.MILLISECONDS.toNanos(ms));
      }
      return DistributionStatisticConfig.builder()
          .serviceLevelObjectives(bounds.stream().mapToDouble(Double::doubleValue).toArray()).build().merge(config);
    }
  };

  private final EmbeddedStack stack;
  private final Veracache client;
  private final MeterRegistry registry;
  private final int keys;
  private final String value;
  private final String linger;
  private final List<String> report = new ArrayList<>();

  private WriteBehindBenchmark(EmbeddedStack stack, Veracache client, MeterRegistry registry, int keys,
      int valueBytes, String linger) {
    this.stack = stack;
    this.client = client;
    this.registry = registry;
    this.keys = keys;
    this.value = "v".repeat(valueBytes);
    this.linger = linger;
  }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int[] threadCounts = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {2, 8};
    int keys = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    int valueBytes = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    int rate = args.length > 4 ? Integer.parseInt(args[4]) : 2000;
    int rateSeconds = args.length > 5 ? Integer.parseInt(args[5]) : 15;
    int inFlight = args.length > 6 ? Integer.parseInt(args[6]) : 64;
    String linger = args.length > 7 ? args[7] : "-";
    if (seconds < 1 || keys < 1 || valueBytes < 1 || valueBytes > 1000 || rate < 1 || rateSeconds < 1
        || inFlight < 1) {
      throw new IllegalArgumentException("wb.bench.args: seconds, keys, value bytes (1-1000), rate, rate seconds and "
          + "in-flight must be positive, were " + String.join(" ", args));
    }
    try (EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded())) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registry.config().meterFilter(FLUSH_LAG_BUCKETS);
      try (Veracache client = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).meterRegistry(registry)
          .build())) {
        WriteBehindBenchmark bench = new WriteBehindBenchmark(stack, client, registry, keys, valueBytes, linger);
        bench.header(seconds, keys, valueBytes, inFlight);
        bench.throughput(seconds, threadCounts, inFlight);
        bench.flushLag(rate, rateSeconds, inFlight);
        bench.writeReport();
      }
    }
  }

  // ---- part 1: put throughput ----

  private void header(int seconds, int keys, int valueBytes, int inFlight) throws Exception {
    report.add("Write-behind benchmark, " + Instant.now() + ", " + Runtime.getRuntime().availableProcessors()
        + " cores, load average before the run: " + loadAverage());
    report.add(String.format("%d keys, %d-byte values, %d s per run after %d s warm-up, putAsync in-flight %d per "
        + "thread, producer linger.ms %s", keys, valueBytes, seconds, WARM_UP.toSeconds(), inFlight,
        linger.equals("-") ? "Kafka default" : linger));
    report.add("");
  }

  private void throughput(int seconds, int[] threadCounts, int inFlight) throws Exception {
    String writeThroughTable = "wb_bench_wt";
    String writeBehindTable = "wb_bench_wb";
    createTable(writeThroughTable);
    createTable(writeBehindTable);
    KafkaServer kafka = stack.kafka();
    kafka.createTopic("wb-bench-put", PARTITIONS);

    WriteThroughCache<Long, Item> writeThrough = client.writeThrough(cacheOptions("wbbenchwt"),
        id -> find(writeThroughTable, id), new VersionedUpdate(stack.database(), writeThroughTable));
    WriteBehindCache<Long, Item> writeBehind = client.writeBehind(writeBehindOptions("wbbenchwb", "wb-bench-put"),
        id -> find(writeBehindTable, id));

    List<Result> results = new ArrayList<>();
    for (int threads : threadCounts) {
      results.add(run(WRITE_THROUGH, threads, seconds, (id, item) -> {
        writeThrough.put(id, item);
        return null;
      }));
      results.add(run("write-behind put", threads, seconds, (id, item) -> {
        writeBehind.put(id, item);
        return null;
      }));
      results.add(runAsync("write-behind putAsync", threads, seconds, inFlight, writeBehind::putAsync));
    }

    report.add("Part 1: put throughput and latency (no flusher running)");
    report.add(String.format("%-24s %7s %12s %10s %10s %10s %8s %s", "path", "threads", "puts/s", "p50 ms",
        "p99 ms", "max ms", "errors", "vs write-through"));
    for (Result r : results) {
      Result base = results.stream().filter(b -> b.name.equals(WRITE_THROUGH) && b.threads == r.threads)
          .findFirst().orElseThrow();
      report.add(String.format("%-24s %7d %12.0f %10.2f %10.2f %10.2f %8d %s", r.name, r.threads, r.perSecond,
          ms(r.p50), ms(r.p99), ms(r.max), r.errors,
          r.name.equals(WRITE_THROUGH) ? "1.0x" : String.format("%.1fx", r.perSecond / base.perSecond)));
    }
    report.add("");
    printLast(results.size() + 3);
  }

  @FunctionalInterface
  private interface SyncPut {
    Void put(long id, Item item) throws Exception;
  }

  @FunctionalInterface
  private interface AsyncPut {
    CompletableFuture<Long> put(Long id, Item item);
  }

  /** Threads call {@code put} in a loop; counted: the puts started after the warm-up that returned before the end. */
  private Result run(String name, int threads, int seconds, SyncPut put) throws Exception {
    long start = System.nanoTime();
    long measureFrom = start + WARM_UP.toNanos();
    long end = measureFrom + TimeUnit.SECONDS.toNanos(seconds);
    Samples latencies = new Samples(2_000_000);
    AtomicLong errors = new AtomicLong();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread worker = new Thread(() -> {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long now;
        while ((now = System.nanoTime()) < end) {
          long id = 1L + random.nextInt(keys);
          try {
            put.put(id, new Item(id, value, 0));
            long done = System.nanoTime();
            if (now >= measureFrom && done <= end) {
              latencies.add(done - now);
            }
          } catch (Exception | Error e) {
            if (errors.getAndIncrement() == 0) {
              System.err.println(name + ": first error: " + e);
            }
          }
        }
      }, "bench-" + name.replace(' ', '-') + "-" + t);
      worker.start();
      workers.add(worker);
    }
    for (Thread worker : workers) {
      worker.join();
    }
    return Result.of(name, threads, seconds, latencies, errors.get());
  }

  /** As {@link #run} with {@code putAsync}: each thread keeps at most {@code inFlight} puts outstanding. */
  private Result runAsync(String name, int threads, int seconds, int inFlight, AsyncPut put) throws Exception {
    long start = System.nanoTime();
    long measureFrom = start + WARM_UP.toNanos();
    long end = measureFrom + TimeUnit.SECONDS.toNanos(seconds);
    Samples latencies = new Samples(2_000_000);
    AtomicLong errors = new AtomicLong();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread worker = new Thread(() -> {
        Semaphore window = new Semaphore(inFlight);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        try {
          while (System.nanoTime() < end) {
            window.acquire();
            long now = System.nanoTime();
            long id = 1L + random.nextInt(keys);
            CompletableFuture<Long> future;
            try {
              future = put.put(id, new Item(id, value, 0));
            } catch (RuntimeException e) {
              window.release();
              errors.incrementAndGet();
              continue;
            }
            var unused = future.whenComplete((version, error) -> {
              long done = System.nanoTime();
              window.release();
              if (error != null) {
                if (errors.getAndIncrement() == 0) {
                  System.err.println(name + ": first error: " + error);
                }
              } else if (now >= measureFrom && done <= end) {
                latencies.add(done - now);
              }
            });
          }
          window.acquire(inFlight); // the last ones complete before the thread ends
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "bench-" + name.replace(' ', '-') + "-" + t);
      worker.start();
      workers.add(worker);
    }
    for (Thread worker : workers) {
      worker.join();
    }
    return Result.of(name, threads, seconds, latencies, errors.get());
  }

  /** One run's numbers (the samples themselves are dropped: a run can hold millions). */
  private record Result(String name, int threads, double perSecond, long p50, long p99, long max, long errors) {
    static Result of(String name, int threads, int seconds, Samples latencies, long errors) {
      Result r = new Result(name, threads, latencies.count() / (double) seconds, latencies.percentile(0.50),
          latencies.percentile(0.99), latencies.max(), errors);
      System.out.printf("%s, %d threads: %.0f puts/s, p50 %.2f ms, p99 %.2f ms, %d errors%n", name, threads,
          r.perSecond, ms(r.p50), ms(r.p99), errors);
      return r;
    }
  }

  // ---- part 2: flush lag at a steady rate ----

  private void flushLag(int rate, int seconds, int inFlight) throws Exception {
    String table = "wb_bench_lag";
    createTable(table);
    stack.kafka().createTopic("wb-bench-lag", PARTITIONS);
    stack.kafka().createTopic("wb-bench-lag" + FlusherOptions.DEFAULT_DEAD_LETTER_SUFFIX, 1);
    String namespace = "wbbenchlag";
    WriteBehindOptions<Long, Item> options = writeBehindOptions(namespace, "wb-bench-lag");
    WriteBehindCache<Long, Item> cache = client.writeBehind(options, id -> find(table, id));
    CommitClock commits = new CommitClock(dataSource());
    WriteBehindFlusher<Long, Item> flusher = client.writeBehindFlusher(options,
        FlusherOptions.builder("wb-bench-lag-flusher").build(), commits, commits.writer(table));

    // Warm-up: the flusher has joined its group and applies writes before the clock starts.
    long warmUpVersion = cache.put(0L, new Item(0, value, 0));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!commits.committed(0L, warmUpVersion) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    if (!commits.committed(0L, warmUpVersion)) {
      throw new IllegalStateException("the flusher did not apply a warm-up write within 60 s");
    }
    Timer lagTimer = registry.get("veracache.writebehind.flush.lag").tag("cache", namespace).timer();
    CountAtBucket[] before = lagTimer.takeSnapshot().histogramCounts();
    long flushedBefore = counter("veracache.writebehind.flushed", namespace);
    long coalescedBefore = counter("veracache.writebehind.coalesced", namespace);

    int writes = rate * seconds;
    long[] ids = new long[writes];
    long[] calledAt = new long[writes];
    long[] versions = new long[writes];
    AtomicLong errors = new AtomicLong();
    AtomicInteger acknowledged = new AtomicInteger();
    Semaphore window = new Semaphore(inFlight * SENDERS);
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    AtomicLong behindAtMost = new AtomicLong();
    long start = System.nanoTime();
    List<Thread> senders = new ArrayList<>();
    for (int t = 0; t < SENDERS; t++) {
      int first = t;
      Thread sender = new Thread(() -> {
        try {
          for (int i = first; i < writes; i += SENDERS) {
            long due = start + i * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(wait);
            } else {
              behindAtMost.accumulateAndGet(-wait, Math::max);
            }
            window.acquire();
            int n = i;
            ids[n] = 1L + ThreadLocalRandom.current().nextInt(keys);
            calledAt[n] = System.nanoTime();
            CompletableFuture<Long> put;
            try {
              put = cache.putAsync(ids[n], new Item(ids[n], value, 0));
            } catch (RuntimeException e) {
              window.release();
              errors.incrementAndGet();
              continue;
            }
            var unused = put.whenComplete((version, error) -> {
              if (error != null) {
                errors.incrementAndGet();
              } else {
                versions[n] = version;
                acknowledged.incrementAndGet();
              }
              window.release(); // after the writes above: the final acquire makes them visible
            });
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "bench-rate-sender-" + t);
      sender.start();
      senders.add(sender);
    }
    for (Thread sender : senders) {
      sender.join();
    }
    window.acquire(inFlight * SENDERS);
    double sentSeconds = (System.nanoTime() - start) / 1e9;

    // Wait until every acknowledged write reached the database (bounded).
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    int reached;
    long[] lags;
    while (true) {
      lags = commits.lags(ids, calledAt, versions);
      reached = lags.length;
      if (reached >= acknowledged.get() || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(100);
    }
    Arrays.sort(lags);
    Thread.sleep(500); // the flusher records its timer and counters just after the commit
    long flushed = counter("veracache.writebehind.flushed", namespace) - flushedBefore;
    long coalesced = counter("veracache.writebehind.coalesced", namespace) - coalescedBefore;
    CountAtBucket[] after = lagTimer.takeSnapshot().histogramCounts();
    flusher.close();

    report.add(String.format("Part 2: flush lag, putAsync at %d puts/s for %d s on %d keys (%d writes sent in %.1f s, "
        + "%d sender threads at most %.1f ms behind schedule), flusher in this JVM, batches up to %d", rate, seconds, keys,
        writes, sentSeconds, SENDERS, ms(behindAtMost.get()), FlusherOptions.DEFAULT_MAX_BATCH_SIZE));
    report.add(String.format("%-44s %10s %10s %10s", "lag", "p50 ms", "p99 ms", "max ms"));
    report.add(String.format("%-44s %10.1f %10.1f %10.1f", "put called -> database commit (measured here)",
        ms(percentile(lags, 0.5)), ms(percentile(lags, 0.99)), ms(lags.length == 0 ? 0 : lags[lags.length - 1])));
    report.add(String.format("%-44s %10s %10s %10s", "flush.lag timer (histogram bucket bound)",
        "<= " + bucketPercentile(before, after, 0.5), "<= " + bucketPercentile(before, after, 0.99), "-"));
    report.add(String.format("acknowledged %d of %d, errors %d, reached the database %d; flushed %d, coalesced %d, "
        + "coalescing ratio %.3f; %d batches", acknowledged.get(), writes, errors.get(), reached, flushed, coalesced,
        flushed + coalesced == 0 ? 0 : coalesced / (double) (flushed + coalesced), commits.batches.get() - 1));
    report.add("");
    printLast(6);
  }

  /** The p-th percentile of the lag timer's records between two snapshots, as its histogram bucket's upper bound. */
  private static String bucketPercentile(CountAtBucket[] before, CountAtBucket[] after, double p) {
    double[] counts = new double[after.length];
    for (int i = 0; i < after.length; i++) {
      counts[i] = after[i].count() - (i < before.length ? before[i].count() : 0);
    }
    double total = counts.length == 0 ? 0 : counts[counts.length - 1];
    if (total == 0) {
      return "n/a";
    }
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] >= p * total) {
        return String.format("%.0f", after[i].bucket(TimeUnit.MILLISECONDS));
      }
    }
    return "> " + String.format("%.0f", after[after.length - 1].bucket(TimeUnit.MILLISECONDS));
  }

  private long counter(String name, String namespace) {
    Counter c = registry.find(name).tag("cache", namespace).counter();
    return c == null ? 0 : (long) c.count();
  }

  /**
   * A DataSource whose connections note when their commit returned, with the writer that tells it which versions each
   * transaction holds. The flusher opens one connection per batch and commits it once.
   */
  private static final class CommitClock implements DataSource {
    private final DataSource database;
    /** Key -> (version, commit time) of each applied change, in commit order. */
    private final Map<Long, List<long[]>> commitsByKey = new HashMap<>();
    private final ConcurrentLinkedQueue<WriteBehindChange<Long, Item>> staged = new ConcurrentLinkedQueue<>();
    final AtomicInteger batches = new AtomicInteger();

    CommitClock(DataSource database) {
      this.database = database;
    }

    WriteBehindWriterAdapter writer(String table) {
      return new WriteBehindWriterAdapter(table, staged);
    }

    @Override
    public Connection getConnection() throws SQLException {
      Connection connection = database.getConnection();
      return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
          (proxy, method, args) -> {
            Object result;
            try {
              result = method.invoke(connection, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
            if (method.getName().equals("commit")) {
              long now = System.nanoTime();
              batches.incrementAndGet();
              synchronized (commitsByKey) {
                for (WriteBehindChange<Long, Item> change; (change = staged.poll()) != null; ) {
                  commitsByKey.computeIfAbsent(change.key(), k -> new ArrayList<>())
                      .add(new long[] {change.version(), now});
                }
              }
            } else if (method.getName().equals("rollback")) {
              staged.clear();
            }
            return result;
          });
    }

    boolean committed(long key, long version) {
      synchronized (commitsByKey) {
        return commitsByKey.getOrDefault(key, List.of()).stream().anyMatch(c -> c[0] >= version);
      }
    }

    /** For each acknowledged write that reached the database: commit time of its version or a newer one - call. */
    long[] lags(long[] ids, long[] calledAt, long[] versions) {
      long[] lags = new long[ids.length];
      int n = 0;
      synchronized (commitsByKey) {
        for (int i = 0; i < ids.length; i++) {
          if (versions[i] == 0) {
            continue;
          }
          for (long[] commit : commitsByKey.getOrDefault(ids[i], List.of())) {
            if (commit[0] >= versions[i]) {
              lags[n++] = commit[1] - calledAt[i];
              break;
            }
          }
        }
      }
      return Arrays.copyOf(lags, n);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
      throw new SQLException("not used by the benchmark");
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
      return database.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
      database.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
      database.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
      return database.getLoginTimeout();
    }

    @Override
    public java.util.logging.Logger getParentLogger() {
      return java.util.logging.Logger.getGlobal();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
      throw new SQLException("not a wrapper");
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
      return false;
    }
  }

  /** The versioned upsert of {@code WriteBehindWriter}'s documentation, in one JDBC batch; stages what it wrote. */
  private record WriteBehindWriterAdapter(String table, ConcurrentLinkedQueue<WriteBehindChange<Long, Item>> staged)
      implements dev.veracache.WriteBehindWriter<Long, Item> {
    @Override
    public void write(Connection connection, List<WriteBehindChange<Long, Item>> changes) throws SQLException {
      staged.clear(); // a batch retried after a failure starts again
      try (PreparedStatement ps = connection.prepareStatement("INSERT INTO " + table
          + " (id, name, deleted, version, changes) VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE"
          + " changes = IF(version < VALUES(version), changes + 1, changes),"
          + " name = IF(version < VALUES(version), VALUES(name), name),"
          + " deleted = IF(version < VALUES(version), VALUES(deleted), deleted),"
          + " version = GREATEST(version, VALUES(version))")) {
        for (WriteBehindChange<Long, Item> change : changes) {
          ps.setLong(1, change.key());
          ps.setString(2, change.deleted() ? "" : change.value().name());
          ps.setBoolean(3, change.deleted());
          ps.setLong(4, change.version());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      staged.addAll(changes);
    }
  }

  // ---- shared ----

  /**
   * Write-through's writer: one autocommit UPDATE that increments the row's version and sets the value, then the new
   * version read back on the same connection ({@code LAST_INSERT_ID(expr)}), as {@link CacheWriter} asks. One JDBC
   * connection per writer thread, opened on first use.
   */
  @SuppressWarnings("ThreadLocalUsage") // one writer per run, its connections belong to the writer threads
  private static final class VersionedUpdate implements CacheWriter<Long, Item> {
    private final DatabaseServer database;
    private final String table;
    private final ThreadLocal<PreparedStatement[]> statements = new ThreadLocal<>();

    VersionedUpdate(DatabaseServer database, String table) {
      this.database = database;
      this.table = table;
    }

    @Override
    public Item write(Long id, Item item) throws SQLException {
      PreparedStatement[] ps = statements.get();
      if (ps == null) {
        Connection c = database.connect();
        ps = new PreparedStatement[] {c.prepareStatement("UPDATE " + table + " SET name = ?, deleted = FALSE, "
            + "changes = changes + 1, version = LAST_INSERT_ID(version + 1) WHERE id = ?"),
            c.prepareStatement("SELECT LAST_INSERT_ID()")};
        statements.set(ps);
      }
      ps[0].setString(1, item.name());
      ps[0].setLong(2, id);
      if (ps[0].executeUpdate() != 1) {
        throw new SQLException("no row " + id + " in " + table);
      }
      try (ResultSet rs = ps[1].executeQuery()) {
        rs.next();
        return new Item(id, item.name(), rs.getLong(1));
      }
    }

    @Override
    public void delete(Long id) {
      throw new UnsupportedOperationException("the benchmark does not delete");
    }
  }

  private CacheOptions<Long, Item> cacheOptions(String namespace) {
    return CacheOptions.<Long, Item>builder(namespace, ValueCodec.json(Item.class)).version(Item::version).build();
  }

  private WriteBehindOptions<Long, Item> writeBehindOptions(String namespace, String topic) {
    WriteBehindOptions.Builder<Long, Item> builder = WriteBehindOptions.builder(cacheOptions(namespace),
        stack.kafka().bootstrapServers(), topic).keyDecoder(Long::valueOf);
    if (!linger.equals("-")) {
      builder.kafkaProperty("linger.ms", linger);
    }
    return builder.build();
  }

  /** The table of both paths: the schema of the write-behind tests, {@code keys} rows at version 1. */
  private void createTable(String table) throws SQLException {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(1000) NOT NULL, "
          + "deleted BOOLEAN NOT NULL, version BIGINT NOT NULL, changes INT NOT NULL)");
      s.execute("INSERT INTO " + table + " SELECT seq, 'initial', FALSE, 1, 0 FROM seq_0_to_" + keys);
    }
  }

  private Item find(String table, long id) throws SQLException {
    try (Connection c = stack.database().connect(); PreparedStatement ps = c.prepareStatement(
        "SELECT name, deleted, version FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && !rs.getBoolean(2) ? new Item(id, rs.getString(1), rs.getLong(3)) : null;
      }
    }
  }

  private DataSource dataSource() {
    com.mysql.cj.jdbc.MysqlDataSource ds = new com.mysql.cj.jdbc.MysqlDataSource();
    ds.setURL(stack.database().jdbcUrl());
    ds.setUser(stack.database().user());
    ds.setPassword(stack.database().password());
    return ds;
  }

  private void printLast(int lines) {
    report.subList(Math.max(0, report.size() - lines), report.size()).forEach(System.out::println);
  }

  private void writeReport() throws Exception {
    report.add("Load average after the run: " + loadAverage());
    StringWriter text = new StringWriter();
    report.forEach(line -> text.append(line).append('\n'));
    Path out = Path.of("target", "writebehind-report.txt");
    Files.createDirectories(out.getParent());
    Files.writeString(out, text.toString());
    System.out.println();
    System.out.print(text);
    System.out.println("written to " + out.toAbsolutePath());
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static long percentile(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** Latencies from many threads into one preallocated array (samples beyond the capacity are dropped). */
  private static final class Samples {
    private final long[] values;
    private final AtomicInteger next = new AtomicInteger();
    private long[] sorted;

    Samples(int capacity) {
      values = new long[capacity];
    }

    void add(long nanos) {
      int i = next.getAndIncrement();
      if (i < values.length) {
        values[i] = nanos;
      }
    }

    /** Every sample added, also those beyond the capacity. */
    long count() {
      return next.get();
    }

    private int size() {
      return Math.min(next.get(), values.length);
    }

    long percentile(double p) {
      return WriteBehindBenchmark.percentile(sorted(), p);
    }

    long max() {
      long[] s = sorted();
      return s.length == 0 ? 0 : s[s.length - 1];
    }

    private synchronized long[] sorted() {
      if (sorted == null) {
        sorted = Arrays.copyOf(values, size());
        Arrays.sort(sorted);
      }
      return sorted;
    }
  }
}
