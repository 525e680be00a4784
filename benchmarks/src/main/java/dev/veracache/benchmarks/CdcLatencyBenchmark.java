package dev.veracache.benchmarks;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.protocol.ProtocolVersion;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Commit-to-invalidation latency and bulk throughput of the CDC listener on the embedded stack. Not a JMH benchmark:
 * it measures an asynchronous pipeline, so it times each change from its commit (JDBC autocommit returned) to the
 * moment a RESP3 tracking push for that key arrives at a separate client. That push is what makes every instance's L1
 * drop the key, so "commit to L2 invalidated" and "commit to L1 dropped" are the same instant plus the push's own
 * delivery (measured separately on this 2-core VM at 0.5 ms p50).
 *
 * <p>Args: rate (row changes per second, default 1000), seconds (default 15), bulk rows (default 100000), max batch
 * size (default 2048).
 */
public final class CdcLatencyBenchmark {

  private static final String NAMESPACE = "benchp";

  public static void main(String[] args) throws Exception {
    int rate = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    int bulkRows = args.length > 2 ? Integer.parseInt(args[2]) : 100_000;
    int keys = Math.max(rate * seconds, bulkRows);
    try (EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded())) {
      prepareTable(stack, keys);
      CdcInvalidator cdc = CdcInvalidator.start(CdcOptions.builder()
          .database(stack.database().host(), stack.database().port(), stack.database().user(),
              stack.database().password())
          .redis(VeracacheOptions.builder(stack.redis().uri()).build())
          .mappings(InvalidationMappings.builder().table("veracache.bench_product").namespace(NAMESPACE).key("{id}")
              .version("version").add().build())
          .stateDirectory(Files.createTempDirectory("cdc-bench"))
          .pollInterval(Duration.ofMillis(1))
          .maxBatchSize(args.length > 3 ? Integer.parseInt(args[3]) : 2048)
          .meterRegistry(new SimpleMeterRegistry())
          .build());
      if (!cdc.awaitLive(Duration.ofSeconds(60))) {
        throw new IllegalStateException("listener not live");
      }
      PushClock clock = new PushClock(stack.redis().uri());
      try {
        steadyRate(stack, clock, rate, seconds);
        bulk(stack, clock, bulkRows);
      } finally {
        clock.close();
        cdc.close();
      }
    }
  }

  private static void prepareTable(EmbeddedStack stack, int rows) throws Exception {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE bench_product (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)");
      s.execute("INSERT INTO bench_product SELECT seq, 1 FROM seq_1_to_" + rows);
    }
  }

  /** One UPDATE per key at a fixed rate, each key once; latency = push arrival - commit return. */
  private static void steadyRate(EmbeddedStack stack, PushClock clock, int rate, int seconds) throws Exception {
    int changes = rate * seconds;
    long[] committedAt = new long[changes + 1];
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    clock.reset();
    try (Connection c = stack.database().connect();
         PreparedStatement ps = c.prepareStatement("UPDATE bench_product SET version = version + 1 WHERE id = ?")) {
      long start = System.nanoTime();
      for (int id = 1; id <= changes; id++) {
        long due = start + (id - 1) * interval;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        ps.setLong(1, id);
        ps.executeUpdate();
        committedAt[id] = System.nanoTime();
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (clock.seen() < changes && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    long[] latencies = new long[changes];
    int n = 0;
    for (int id = 1; id <= changes; id++) {
      Long pushedAt = clock.arrivals.get(NAMESPACE + ":" + id);
      if (pushedAt != null) {
        latencies[n++] = pushedAt - committedAt[id];
      }
    }
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    System.out.printf("steady rate: %d row changes/s for %d s (%d changes, %d invalidations seen)%n", rate, seconds,
        changes, n);
    System.out.printf("  commit -> L2 invalidated (= L1 dropped push): p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
        ms(percentile(sorted, 0.50)), ms(percentile(sorted, 0.99)), ms(sorted.length == 0 ? 0 : sorted[n - 1]));
  }

  /** One UPDATE touching every row; throughput = rows / (last push - commit). */
  private static void bulk(EmbeddedStack stack, PushClock clock, int rows) throws Exception {
    clock.reset();
    long committed;
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE bench_product SET version = version + 1 WHERE id <= " + rows);
      committed = System.nanoTime();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (clock.seen() < rows && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    long last = clock.arrivals.values().stream().mapToLong(Long::longValue).max().orElse(committed);
    double secondsTaken = (last - committed) / 1e9;
    System.out.printf("bulk: one UPDATE of %d rows: %d invalidations seen in %.2f s after commit = %.0f row "
        + "changes/s%n", rows, clock.seen(), secondsTaken, clock.seen() / secondsTaken);
  }

  private static long percentile(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** A RESP3 client in broadcast tracking mode on the namespace: records when each key's push arrives. */
  private static final class PushClock implements AutoCloseable {
    final ConcurrentHashMap<String, Long> arrivals = new ConcurrentHashMap<>();
    private final AtomicLong count = new AtomicLong();
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;

    PushClock(String uri) {
      client = RedisClient.create(uri);
      client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
      connection = client.connect();
      connection.addListener(message -> {
        long now = System.nanoTime();
        if ("invalidate".equals(message.getType()) && message.getContent().get(1) instanceof List<?> list) {
          for (Object k : list) {
            String key = k instanceof ByteBuffer b ? StandardCharsets.UTF_8.decode(b.duplicate()).toString()
                : String.valueOf(k);
            if (arrivals.putIfAbsent(key, now) == null) {
              count.incrementAndGet();
            }
          }
        }
      });
      connection.sync().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(NAMESPACE + ":"));
    }

    void reset() {
      arrivals.clear();
      count.set(0);
    }

    long seen() {
      return count.get();
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown();
    }
  }
}
