package dev.veracache.benchmarks;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.protocol.ProtocolVersion;
import java.io.BufferedWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The writer and the push clock of {@link CdcLatencyBenchmark}, in a JVM of their own, so that the benchmark's JVM
 * holds the listener alone: its GC pauses and its threads are the listener's, not the writer's. Times are
 * {@link System#nanoTime()}, which on Linux is {@code CLOCK_MONOTONIC}, one clock for every process of the machine,
 * so they compare with the listener's.
 *
 * <p>Args: {@code steady <jdbcUrl> <redisUri> <namespace> <rate> <seconds> <out>} (one UPDATE per key at a fixed
 * rate) or {@code bulk <jdbcUrl> <redisUri> <namespace> <rows> <out>} (one UPDATE of every row). The database user is
 * {@code root} without a password (the embedded MariaDB). Writes to {@code out} one line per key,
 * {@code <id> <commitNanos> <pushNanos>} (push 0: none arrived), after the header {@code commit <nanos>} for bulk.
 */
public final class CdcLoadGenerator {

  private CdcLoadGenerator() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String jdbcUrl = args[1];
    String redisUri = args[2];
    String namespace = args[3];
    try (PushClock clock = new PushClock(redisUri, namespace);
         Connection c = DriverManager.getConnection(jdbcUrl, "root", "")) {
      if ("steady".equals(mode)) {
        steady(c, clock, namespace, Integer.parseInt(args[4]), Integer.parseInt(args[5]), Path.of(args[6]));
      } else if ("bulk".equals(mode)) {
        bulk(c, clock, namespace, Integer.parseInt(args[4]), Path.of(args[5]));
      } else {
        throw new IllegalArgumentException("mode must be steady or bulk, was " + mode);
      }
    }
  }

  private static void steady(Connection c, PushClock clock, String namespace, int rate, int seconds, Path out)
      throws Exception {
    int changes = rate * seconds;
    long[] committedAt = new long[changes + 1];
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    try (PreparedStatement ps = c.prepareStatement("UPDATE bench_product SET version = version + 1 WHERE id = ?")) {
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
    clock.awaitAtLeast(changes, TimeUnit.SECONDS.toNanos(30));
    try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      for (int id = 1; id <= changes; id++) {
        w.write(id + " " + committedAt[id] + " " + clock.arrivals.getOrDefault(namespace + ":" + id, 0L));
        w.newLine();
      }
    }
  }

  private static void bulk(Connection c, PushClock clock, String namespace, int rows, Path out) throws Exception {
    long committed;
    try (Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE bench_product SET version = version + 1 WHERE id <= " + rows);
      committed = System.nanoTime();
    }
    clock.awaitAtLeast(rows, TimeUnit.SECONDS.toNanos(120));
    try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      w.write("commit " + committed);
      w.newLine();
      for (int id = 1; id <= rows; id++) {
        w.write(id + " " + committed + " " + clock.arrivals.getOrDefault(namespace + ":" + id, 0L));
        w.newLine();
      }
    }
  }

  /** A RESP3 client in broadcast tracking mode on the namespace: records when each key's push arrives. */
  private static final class PushClock implements AutoCloseable {
    final Map<String, Long> arrivals = new ConcurrentHashMap<>();
    private final AtomicLong count = new AtomicLong();
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;

    PushClock(String uri, String namespace) {
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
      connection.sync().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(namespace + ":"));
    }

    /** Waits (polling the count, at most {@code timeoutNanos}) until {@code n} keys' pushes arrived. */
    void awaitAtLeast(long n, long timeoutNanos) throws InterruptedException {
      long deadline = System.nanoTime() + timeoutNanos;
      while (count.get() < n && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown();
    }
  }
}
