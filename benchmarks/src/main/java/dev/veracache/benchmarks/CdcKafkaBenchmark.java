package dev.veracache.benchmarks;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.KafkaConnectorConfig;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The CDC Kafka mode on the embedded stack: MariaDB's binlog read by Debezium in a real Kafka Connect worker, written
 * to a topic of six partitions, applied to Redis by a consumer group of listeners. Not JMH: it times an asynchronous
 * pipeline.
 *
 * <ul>
 *   <li><b>Latency</b>: one listener; row changes at a fixed rate from a child JVM ({@link CdcLoadGenerator}), each
 *       timed from its commit to the RESP3 tracking push of its key (the instant every L1 drops it). Compare with
 *       {@link CdcLatencyBenchmark}'s steady phase (the embedded path), run the same way.</li>
 *   <li><b>Throughput with 1, 2 and 3 consumers</b>: the topic is loaded first (one UPDATE of every row, written by
 *       Connect), then for each group size a new group of that many listeners reads it from the start. The rate is
 *       taken from the moment every member holds partitions (joins and rebalances excluded) to the moment the group's
 *       committed offsets reach the end of every partition; the whole run's rate is given too.</li>
 * </ul>
 *
 * <p>Args: rate (changes/s, default 500), seconds (default 10), rows (default 100000). Writes
 * {@code target/cdc-kafka-report.txt}.
 */
public final class CdcKafkaBenchmark {

  private static final String NAMESPACE = "benchk";
  private static final String PREFIX = "bench";
  private static final int PARTITIONS = 6;
  private static final String TOPIC = PREFIX + ".veracache.bench_product";

  private final EmbeddedStack stack;
  private final List<String> report = new ArrayList<>();

  private CdcKafkaBenchmark(EmbeddedStack stack) {
    this.stack = stack;
  }

  public static void main(String[] args) throws Exception {
    int rate = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int rows = args.length > 2 ? Integer.parseInt(args[2]) : 100_000;
    String loadBefore = CdcLatencyBenchmark.loadAverage();
    try (EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded())) {
      CdcLatencyBenchmark.prepareTable(stack, Math.max(rows, rate * (seconds + 5)));
      CdcKafkaBenchmark bench = new CdcKafkaBenchmark(stack);
      bench.report.add("CDC Kafka mode benchmark, " + java.time.Instant.now() + "; topic of " + PARTITIONS
          + " partitions, one broker, Connect and every consumer on this machine ("
          + Runtime.getRuntime().availableProcessors() + " cores)");
      bench.report.add("load average (1/5/15 min) before: " + loadBefore);
      bench.startConnector();
      bench.latency(rate, seconds);
      bench.throughput(rows);
      bench.report.add("load average (1/5/15 min) after: " + CdcLatencyBenchmark.loadAverage());
      String text = String.join(System.lineSeparator(), bench.report) + System.lineSeparator();
      System.out.print(text);
      Path out = Path.of("target", "cdc-kafka-report.txt");
      Files.createDirectories(out.getParent());
      Files.writeString(out, text);
    }
  }

  private void startConnector() throws Exception {
    Map<String, String> connector = KafkaConnectorConfig.builder("bench", PREFIX)
        .database(stack.database().host(), stack.database().port(), stack.database().user(),
            stack.database().password())
        .serverId(7001)
        .databases(stack.database().databaseName())
        .kafkaSchemaHistory(stack.kafka().bootstrapServers(), "bench-schema-history")
        .partitions(PARTITIONS)
        .build();
    stack.kafkaConnect(List.of(connector));
    try (Admin admin = admin()) {
      // RUNNING comes before the connector reads the binlog: touch a row until the table's topic exists.
      for (int attempt = 0; !admin.listTopics().names().get().contains(TOPIC); attempt++) {
        if (attempt > 600) {
          throw new IllegalStateException("topic " + TOPIC + " not created within 2 minutes");
        }
        sql("UPDATE bench_product SET version = version + 1 WHERE id = 1");
        Thread.sleep(200); // polling a condition (the topic exists)
      }
    }
  }

  private CdcOptions listener(String name, String group, SimpleMeterRegistry registry) {
    return CdcOptions.builder()
        .name(name)
        .redis(VeracacheOptions.builder(stack.redis().uri()).clientName(name).build())
        .mappings(InvalidationMappings.builder().table("veracache.bench_product").namespace(NAMESPACE).key("{id}")
            .version("version").add().build())
        .meterRegistry(registry)
        .kafka(KafkaSource.builder().bootstrapServers(stack.kafka().bootstrapServers()).groupId(group)
            .topicPattern(PREFIX + "(\\..*)?").consumerProperty("client.id", name).build())
        .build();
  }

  private void latency(int rate, int seconds) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    registry.config().meterFilter(CdcLatencyBenchmark.STAGE_BUCKETS);
    try (CdcInvalidator cdc = CdcInvalidator.start(listener("latency", "bench-latency", registry))) {
      if (!cdc.awaitLive(Duration.ofSeconds(60))) {
        throw new IllegalStateException("listener not live: " + cdc.status());
      }
      awaitGroupAtEnd("bench-latency", Duration.ofMinutes(2)); // the topic's earlier records first
      CdcLatencyBenchmark.generate(stack, NAMESPACE, "steady", Integer.toString(rate), "5"); // warm-up
      var before = CdcLatencyBenchmark.stageSnapshots(registry);
      List<long[]> lines = CdcLatencyBenchmark.generate(stack, NAMESPACE, "steady", Integer.toString(rate),
          Integer.toString(seconds));
      long[] total = new long[lines.size()];
      int n = 0;
      for (long[] line : lines) {
        if (line[2] != 0) {
          total[n++] = line[2] - line[1];
        }
      }
      report.add("");
      report.add(String.format("latency, one consumer: %d row changes/s for %d s after a 5 s warm-up (%d changes, %d "
          + "pushes seen)", rate, seconds, lines.size(), n));
      report.add("  commit -> Connect -> Kafka -> listener -> L2 invalidated (= L1 dropped push): "
          + CdcLatencyBenchmark.summary(total, n));
      report.add("  the listener's own stages (event read: Connect's read of the binlog; queued: to this member's "
          + "batch; batch offsets: the Kafka commit):");
      CdcLatencyBenchmark.stageReport(report, before, CdcLatencyBenchmark.stageSnapshots(registry));
    }
  }

  private void throughput(int rows) throws Exception {
    Map<TopicPartition, Long> start = endOffsets();
    sql("UPDATE bench_product SET version = version + 1 WHERE id <= " + rows);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    long loaded;
    while ((loaded = sum(endOffsets()) - sum(start)) < rows) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("Connect wrote " + loaded + " of " + rows + " change events in 5 minutes");
      }
      Thread.sleep(100); // polling a condition (the topic holds the bulk)
    }
    long records = sum(endOffsets());
    report.add("");
    report.add(String.format("throughput: the topic holds %d change events (%d of them one UPDATE of %d rows); each "
        + "group reads all of it from the start", records, rows, rows));
    report.add(String.format("  %-10s %14s %22s %14s %14s", "consumers", "events/s", "events/s all members",
        "whole run s", "join s"));
    double single = 0;
    // A group of one first, not reported: the first group read half as fast as the same group later (JIT warm-up of
    // the listener's consumer path). 1 again at the end: what is left of that shows as a different last line.
    for (int slot : new int[] {0, 1, 2, 3, 1}) {
      boolean warmUp = slot == 0;
      int consumers = Math.max(1, slot);
      String group = "bench-" + consumers + "-" + System.nanoTime();
      List<CdcInvalidator> members = new ArrayList<>();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      long began = System.nanoTime();
      try {
        for (int m = 0; m < consumers; m++) {
          members.add(CdcInvalidator.start(listener("member" + m, group, registry)));
        }
        long allIn;
        long committedWhenAllIn;
        try (Admin admin = admin()) {
          while (membersWithPartitions(admin, group) < consumers) {
            if (System.nanoTime() - began > TimeUnit.MINUTES.toNanos(2)) {
              throw new IllegalStateException("group " + group + " did not give every member partitions");
            }
            Thread.sleep(5); // polling a condition (every member holds partitions)
          }
          allIn = System.nanoTime();
          committedWhenAllIn = committed(admin, group);
          while (committed(admin, group) < records) {
            if (System.nanoTime() - began > TimeUnit.MINUTES.toNanos(5)) {
              throw new IllegalStateException("group " + group + " committed " + committed(admin, group) + " of "
                  + records + " in 5 minutes");
            }
            Thread.sleep(10); // polling a condition (every offset committed)
          }
        }
        long done = System.nanoTime();
        double steady = (records - committedWhenAllIn) / ((done - allIn) / 1e9);
        double whole = records / ((done - began) / 1e9);
        if (warmUp) {
          continue;
        }
        if (consumers == 1 && single == 0) {
          single = steady;
        }
        report.add(String.format("  %-10d %14.0f %22s %14.2f %14.2f", consumers, whole,
            String.format("%.0f (%.2fx)", steady, single == 0 ? 0 : steady / single), (done - began) / 1e9,
            (allIn - began) / 1e9));
      } finally {
        members.forEach(CdcInvalidator::close);
      }
    }
  }

  private static int membersWithPartitions(Admin admin, String group) throws Exception {
    return (int) admin.describeConsumerGroups(List.of(group)).all().get().get(group).members().stream()
        .filter(member -> member.assignment().topicPartitions().stream().anyMatch(p -> p.topic().equals(TOPIC)))
        .count();
  }

  private static long committed(Admin admin, String group) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
        .get();
    return offsets.entrySet().stream().filter(e -> e.getKey().topic().equals(TOPIC) && e.getValue() != null)
        .mapToLong(e -> e.getValue().offset()).sum();
  }

  /** Waits until the group committed every record the table's topic holds now. */
  private void awaitGroupAtEnd(String group, Duration within) throws Exception {
    long end = sum(endOffsets());
    long deadline = System.nanoTime() + within.toNanos();
    try (Admin admin = admin()) {
      while (committed(admin, group) < end) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("group " + group + " did not reach the end of " + TOPIC);
        }
        Thread.sleep(20); // polling a condition
      }
    }
  }

  private Map<TopicPartition, Long> endOffsets() throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < PARTITIONS; p++) {
      latest.put(new TopicPartition(TOPIC, p), OffsetSpec.latest());
    }
    Map<TopicPartition, Long> ends = new HashMap<>();
    try (Admin admin = admin()) {
      admin.listOffsets(latest).all().get().forEach((partition, info) -> ends.put(partition, info.offset()));
    }
    return ends;
  }

  private static long sum(Map<TopicPartition, Long> offsets) {
    return offsets.values().stream().mapToLong(Long::longValue).sum();
  }

  private Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafka().bootstrapServers()));
  }

  private void sql(String statement) throws Exception {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }
}
