package dev.veracache.benchmarks;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Commit-to-invalidation latency and bulk throughput of the CDC listener on the embedded stack. Not a JMH benchmark:
 * it measures an asynchronous pipeline, so it times each change from its commit (JDBC autocommit returned) to the
 * moment a RESP3 tracking push for that key arrives at a separate client. That push is what makes every instance's L1
 * drop the key, so "commit to L2 invalidated" and "commit to L1 dropped" are the same instant plus the push's own
 * delivery (measured separately on this 2-core VM at 0.5 ms p50).
 *
 * <p>The writer and the push clock run in a child JVM ({@link CdcLoadGenerator}), so that this JVM holds the listener
 * alone; {@code System.nanoTime} is one clock for every process on Linux ({@code CLOCK_MONOTONIC}).
 *
 * <p>Each change's way is split at the moment the listener is about to send its batch to Redis (the
 * {@link CdcHooks#beforeApply} seam records when each key got there), and the listener's own stage meters
 * ({@code veracache.cdc.event.stage}, {@code veracache.cdc.batch.stage}, {@code veracache.cdc.batch.size}) are read
 * for each phase from fixed histogram buckets this runner gives them. The report is printed and written to
 * {@code target/cdc-latency-report.txt}, with the load average before and after.
 *
 * <p>Args: rate (row changes per second, default 1000), seconds (default 15), bulk rows (default 100000), max batch
 * size (default: the listener's). System properties {@code cdc.bench.pollMs} and {@code cdc.bench.offsetFlushMs} set
 * the listener's poll and offset flush intervals (default: the listener's defaults), {@code cdc.bench.warmupSeconds}
 * the unmeasured warm-up at the steady rate before the measured phase (default 5).
 */
public final class CdcLatencyBenchmark {

  private static final String NAMESPACE = "benchp";
  private static final List<String> EVENT_STAGES = List.of("read", "queued", "applied");
  private static final List<String> BATCH_STAGES = List.of("poll", "map", "redis", "progress", "offsets");

  /**
   * Stage meters get fixed buckets (a simple registry keeps no histogram otherwise): 0.1 ms steps to 2 ms, then
   * coarser; batch sizes powers of two.
   */
  static final MeterFilter STAGE_BUCKETS = new MeterFilter() {
    @Override
    public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
      List<Double> bounds = new ArrayList<>();
      if (id.getName().startsWith("veracache.cdc.") && id.getName().endsWith(".stage")) {
        for (long us = 100; us <= 60_000_000; us += us < 2000 ? 100 : us < 10_000 ? 500 : us < 30_000 ? 1000
            : us < 100_000 ? 5000 : us < 1_000_000 ? 10_000 : 100_000) {
          bounds.add((double) TimeUnit.MICROSECONDS.toNanos(us));
        }
      } else if (id.getName().equals("veracache.cdc.batch.size")) {
        for (long n = 1; n <= 1 << 20; n *= 2) {
          bounds.add((double) n);
        }
      } else {
        return config;
      }
      // No rotation: each phase reads the difference of two snapshots of cumulative buckets.
      return DistributionStatisticConfig.builder().expiry(Duration.ofDays(1)).bufferLength(1)
          .serviceLevelObjectives(bounds.stream().mapToDouble(Double::doubleValue).toArray()).build().merge(config);
    }
  };

  private final EmbeddedStack stack;
  private final SimpleMeterRegistry registry;
  /** When each key reached the listener's send to Redis (the beforeApply seam), nanoTime. */
  private final ConcurrentHashMap<String, Long> sentAt = new ConcurrentHashMap<>();
  private final List<String> report = new ArrayList<>();

  private CdcLatencyBenchmark(EmbeddedStack stack, SimpleMeterRegistry registry) {
    this.stack = stack;
    this.registry = registry;
  }

  public static void main(String[] args) throws Exception {
    int rate = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    int bulkRows = args.length > 2 ? Integer.parseInt(args[2]) : 100_000;
    int keys = Math.max(rate * seconds, bulkRows);
    String loadBefore = loadAverage();
    try (EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded())) {
      prepareTable(stack, keys);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registry.config().meterFilter(STAGE_BUCKETS);
      CdcOptions.Builder options = CdcOptions.builder()
          .database(stack.database().host(), stack.database().port(), stack.database().user(),
              stack.database().password())
          .redis(VeracacheOptions.builder(stack.redis().uri()).build())
          .mappings(InvalidationMappings.builder().table("veracache.bench_product").namespace(NAMESPACE).key("{id}")
              .version("version").add().build())
          .stateDirectory(Files.createTempDirectory("cdc-bench"))
          .meterRegistry(registry);
      if (args.length > 3) {
        options.maxBatchSize(Integer.parseInt(args[3]));
      }
      if (System.getProperty("cdc.bench.pollMs") != null) {
        options.pollInterval(Duration.ofMillis(Long.getLong("cdc.bench.pollMs")));
      }
      if (System.getProperty("cdc.bench.offsetFlushMs") != null) {
        options.offsetFlushInterval(Duration.ofMillis(Long.getLong("cdc.bench.offsetFlushMs")));
      }
      CdcOptions built = options.build();
      CdcLatencyBenchmark bench = new CdcLatencyBenchmark(stack, registry);
      CdcInvalidator cdc = CdcInvalidator.start(built, new CdcHooks() {
        @Override
        public void beforeApply(List<KeyInvalidation> invalidations) {
          long now = System.nanoTime();
          for (KeyInvalidation i : invalidations) {
            bench.sentAt.putIfAbsent(i.redisKey(), now);
          }
        }
      });
      try {
        if (!cdc.awaitLive(Duration.ofSeconds(60))) {
          throw new IllegalStateException("listener not live");
        }
        bench.report.add(String.format("CDC latency benchmark, %s; listener: poll %d ms, max batch %d, offset flush "
            + "%d ms", java.time.Instant.now(), built.pollInterval().toMillis(), built.maxBatchSize(),
            built.offsetFlushInterval().toMillis()));
        bench.report.add("load average (1/5/15 min) before: " + loadBefore);
        int warmUp = Integer.getInteger("cdc.bench.warmupSeconds", 5);
        if (warmUp > 0) {
          // The listener's JVM has seen only markers so far: its first seconds under load are JIT warm-up (without
          // this, every change slower than 100 ms fell in the first 2.2 s of the measured phase, 11 % of them).
          bench.generate("steady", Integer.toString(rate), Integer.toString(warmUp));
          bench.report.add("warm-up: " + warmUp + " s at " + rate + " changes/s, not measured");
        }
        bench.steadyRate(rate, seconds);
        bench.bulk(bulkRows);
      } finally {
        cdc.close();
      }
      bench.report.add("load average (1/5/15 min) after: " + loadAverage());
      String text = String.join(System.lineSeparator(), bench.report) + System.lineSeparator();
      System.out.print(text);
      Path out = Path.of("target", "cdc-latency-report.txt");
      Files.createDirectories(out.getParent());
      Files.writeString(out, text);
    }
  }

  static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return parts[0] + " / " + parts[1] + " / " + parts[2];
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  static void prepareTable(EmbeddedStack stack, int rows) throws Exception {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE bench_product (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)");
      s.execute("INSERT INTO bench_product SELECT seq, 1 FROM seq_1_to_" + rows);
    }
  }

  /**
   * One UPDATE per key at a fixed rate, each key once; latency = push arrival - commit return. The writer and the push
   * clock run in a child JVM ({@link CdcLoadGenerator}): this JVM holds the listener alone.
   */
  private void steadyRate(int rate, int seconds) throws Exception {
    int changes = rate * seconds;
    sentAt.clear();
    Map<String, HistogramSnapshot> before = stageSnapshots();
    List<long[]> lines = generate("steady", Integer.toString(rate), Integer.toString(seconds));
    Thread.sleep(200); // the last batch's progress and offsets, for the stage meters
    long[] total = new long[changes];
    long[] toSend = new long[changes];
    long[] sendToPush = new long[changes];
    int n = 0;
    long firstCommit = lines.isEmpty() ? 0 : lines.get(0)[1];
    List<String> slowAt = new ArrayList<>();
    int slow = 0;
    for (long[] line : lines) {
      long committedAt = line[1];
      if (line[2] != 0 && line[2] - committedAt > TimeUnit.MILLISECONDS.toNanos(100)) {
        if (slow++ < 5 || slow % 50 == 0) {
          slowAt.add(String.format("%.2f", (committedAt - firstCommit) / 1e9));
        }
      }
      long pushedAt = line[2];
      Long sent = sentAt.get(NAMESPACE + ":" + line[0]);
      if (pushedAt != 0 && sent != null) {
        total[n] = pushedAt - committedAt;
        toSend[n] = sent - committedAt;
        sendToPush[n] = pushedAt - sent;
        n++;
      }
    }
    report.add("");
    report.add(String.format("steady rate: %d row changes/s for %d s (%d changes, %d invalidations seen; writer and "
        + "push clock in their own JVM)", rate, seconds, changes, n));
    report.add(String.format("  commit -> L2 invalidated (= L1 dropped push): %s", summary(total, n)));
    report.add(String.format("    commit -> listener sends its batch (binlog, Debezium, mapping): %s",
        summary(toSend, n)));
    report.add(String.format("    listener sends -> push arrives (Redis round trip, tracking push): %s",
        summary(sendToPush, n)));
    report.add(String.format("  changes slower than 100 ms: %d, committed at (s into the phase; the first five, then "
        + "every 50th): %s", slow, String.join(", ", slowAt)));
    stageReport(before, stageSnapshots());
  }

  /** One UPDATE touching every row; throughput = rows / (last push - commit). Writer and clock as in the steady run. */
  private void bulk(int rows) throws Exception {
    sentAt.clear();
    Map<String, HistogramSnapshot> before = stageSnapshots();
    List<long[]> lines = generate("bulk", Integer.toString(rows));
    Thread.sleep(200);
    long committed = lines.isEmpty() ? 0 : lines.get(0)[1];
    long last = committed;
    int seen = 0;
    for (long[] line : lines) {
      if (line[2] != 0) {
        seen++;
        last = Math.max(last, line[2]);
      }
    }
    long firstSent = sentAt.values().stream().mapToLong(Long::longValue).min().orElse(committed);
    double secondsTaken = (last - committed) / 1e9;
    report.add("");
    report.add(String.format("bulk: one UPDATE of %d rows: %d invalidations seen in %.2f s after commit = %.0f row "
        + "changes/s (the first batch sent %.0f ms after the commit)", rows, seen, secondsTaken,
        seen / secondsTaken, (firstSent - committed) / 1e6));
    stageReport(before, stageSnapshots());
  }

  /**
   * Runs {@link CdcLoadGenerator} in a child JVM on this JVM's class path and returns its lines {@code id,
   * commitNanos, pushNanos} (push 0: none arrived).
   */
  private List<long[]> generate(String mode, String... args) throws Exception {
    return generate(stack, NAMESPACE, mode, args);
  }

  /** {@link #generate(String, String...)} for any stack and namespace (the table is {@code bench_product}). */
  static List<long[]> generate(EmbeddedStack stack, String namespace, String mode, String... args) throws Exception {
    Path out = Files.createTempFile("cdc-load-" + mode, ".txt");
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-cp", System.getProperty("java.class.path"), CdcLoadGenerator.class.getName(), mode,
        stack.database().jdbcUrl(), stack.redis().uri(), namespace));
    command.addAll(List.of(args));
    command.add(out.toString());
    Process child = new ProcessBuilder(command).inheritIO().start();
    if (!child.waitFor(5, TimeUnit.MINUTES)) {
      child.destroyForcibly();
      throw new IllegalStateException("the load generator (" + mode + ") did not finish within 5 minutes");
    }
    if (child.exitValue() != 0) {
      throw new IllegalStateException("the load generator (" + mode + ") exited with code " + child.exitValue());
    }
    List<long[]> lines = new ArrayList<>();
    for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
      String[] parts = line.split(" ");
      if (parts.length == 3) {
        lines.add(new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1]), Long.parseLong(parts[2])});
      }
    }
    Files.delete(out);
    return lines;
  }

  private Map<String, HistogramSnapshot> stageSnapshots() {
    return stageSnapshots(registry);
  }

  /** The listener stage meters of {@code registry} now (cumulative; a phase is the difference of two). */
  static Map<String, HistogramSnapshot> stageSnapshots(SimpleMeterRegistry registry) {
    Map<String, HistogramSnapshot> snapshots = new LinkedHashMap<>();
    for (String stage : EVENT_STAGES) {
      Timer t = registry.find("veracache.cdc.event.stage").tag("stage", stage).timer();
      if (t != null) {
        snapshots.put("event " + stage, t.takeSnapshot());
      }
    }
    for (String stage : BATCH_STAGES) {
      Timer t = registry.find("veracache.cdc.batch.stage").tag("stage", stage).timer();
      if (t != null) {
        snapshots.put("batch " + stage, t.takeSnapshot());
      }
    }
    DistributionSummary size = registry.find("veracache.cdc.batch.size").summary();
    if (size != null) {
      snapshots.put("batch size", size.takeSnapshot());
    }
    return snapshots;
  }

  /** The listener's stage meters over one phase: count, mean, and bucket upper bounds for p50, p99 and max. */
  private void stageReport(Map<String, HistogramSnapshot> before, Map<String, HistogramSnapshot> after) {
    stageReport(report, before, after);
  }

  /** Adds to {@code report} the stage meters over one phase (see {@link #stageReport(Map, Map)}). */
  static void stageReport(List<String> report, Map<String, HistogramSnapshot> before,
      Map<String, HistogramSnapshot> after) {
    report.add(String.format("  %-16s %9s %10s %10s %10s %10s   (listener meters; percentiles are histogram bucket "
        + "bounds)", "stage", "count", "mean", "p50 <=", "p99 <=", "max <="));
    for (Map.Entry<String, HistogramSnapshot> e : after.entrySet()) {
      HistogramSnapshot b = before.get(e.getKey());
      HistogramSnapshot a = e.getValue();
      boolean time = !e.getKey().equals("batch size");
      long count = a.count() - (b == null ? 0 : b.count());
      double total = time ? a.total(TimeUnit.MILLISECONDS) - (b == null ? 0 : b.total(TimeUnit.MILLISECONDS))
          : a.total() - (b == null ? 0 : b.total());
      CountAtBucket[] ab = a.histogramCounts();
      CountAtBucket[] bb = b == null ? new CountAtBucket[0] : b.histogramCounts();
      String unit = time ? " ms" : "";
      report.add(String.format("  %-16s %9d %10s %10s %10s %10s", e.getKey(), count,
          count == 0 ? "-" : format(total / count) + unit, bucket(bb, ab, 0.5, time) + unit,
          bucket(bb, ab, 0.99, time) + unit, bucket(bb, ab, 1.0, time) + unit));
    }
  }

  private static String bucket(CountAtBucket[] before, CountAtBucket[] after, double p, boolean time) {
    double[] counts = new double[after.length];
    for (int i = 0; i < after.length; i++) {
      counts[i] = after[i].count() - (i < before.length ? before[i].count() : 0);
    }
    double total = counts.length == 0 ? 0 : counts[counts.length - 1];
    if (total == 0) {
      return "-";
    }
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] >= p * total) {
        return format(time ? after[i].bucket(TimeUnit.MILLISECONDS) : after[i].bucket());
      }
    }
    return "> " + format(time ? after[after.length - 1].bucket(TimeUnit.MILLISECONDS)
        : after[after.length - 1].bucket());
  }

  private static String format(double v) {
    return v >= 100 ? String.format("%.0f", v) : v >= 10 ? String.format("%.1f", v) : String.format("%.2f", v);
  }

  static String summary(long[] values, int n) {
    long[] sorted = Arrays.copyOf(values, n);
    Arrays.sort(sorted);
    return String.format("p50 %.2f ms, p99 %.2f ms, max %.2f ms", ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.99)), ms(n == 0 ? 0 : sorted[n - 1]));
  }

  private static long percentile(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

}
