package dev.veracache.chaos;

import dev.veracache.chaos.check.AppliedVersions;
import dev.veracache.chaos.check.Checker;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.fault.WriteBehindProcess;
import dev.veracache.chaos.scenario.FaultKind;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.KafkaServer;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * R8, the run of a write-behind strategy (no cache instances, no readers: JVMs of its own that acknowledge writes):
 * <ul>
 *   <li>HEAP_WRITE_BEHIND (fault PROCESS_KILL): a heap-queue write-behind acknowledges puts at the scenario's rate and
 *       is killed (SIGKILL) two thirds into the run;</li>
 *   <li>VERACACHE_WRITE_BEHIND: a producer JVM ({@code WriteBehindCache}) acknowledges puts once the Kafka log holds
 *       them, and a flusher JVM ({@code WriteBehindFlusher}, consumer group of its own) applies them to the table. Under
 *       PROCESS_KILL the flusher is killed (SIGKILL) a third into the run and a fresh JVM of the same group started at
 *       once (it replays from the committed offsets), and the producer is killed two thirds in. Under BROKER_RESTART
 *       the broker is killed (SIGKILL) for the fault's span (the middle third) and started again, and the producer
 *       is stopped at the end; puts during the outage fail and are counted ({@code failed puts}), never
 *       acknowledged. The flusher must then drain the log (its group's committed offsets at the log's end).</li>
 * </ul>
 * Then every acknowledged write whose version the table's {@code version} column (what the writers store: the
 * workload's counter for the heap baseline, Redis-clock microseconds for Veracache) is below is lost, and every
 * version change the database applied below one the key already had is out of order ({@link AppliedVersions}).
 *
 * <p>Invariants: the child JVMs are dead and the broker running when {@link #run()} returns, whatever happened; the
 * checker looks at the database only after the producer is dead and, for Veracache, the log is drained, so nothing
 * acknowledged is still on its way.
 */
final class WriteBehindRun {

  private static final Logger log = LoggerFactory.getLogger(WriteBehindRun.class);
  private static final int HEAP_FLUSH_MILLIS = 500;
  private static final int LOG_PARTITIONS = 3;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);

  private final EmbeddedStack stack;
  private final Scenario scenario;
  private final Strategy strategy;
  private final Workload workload;
  private final String namespace;
  private final String label;
  private final long seed;

  WriteBehindRun(EmbeddedStack stack, Scenario scenario, Strategy strategy, Workload workload, String namespace,
      String label, long seed) {
    if (!strategy.writeBehind()) {
      throw new IllegalArgumentException(strategy + " is not a write-behind strategy");
    }
    this.stack = stack;
    this.scenario = scenario;
    this.strategy = strategy;
    this.workload = workload;
    this.namespace = namespace;
    this.label = label;
    this.seed = seed;
  }

  Report run() throws Exception {
    AppliedVersions.install(stack.database(), workload.table);
    History history = new History();
    FaultMeasures measures = new FaultMeasures();
    List<WriteBehindProcess.Ack> acks = strategy == Strategy.HEAP_WRITE_BEHIND
        ? heap(history, measures) : veracache(history, measures);
    for (WriteBehindProcess.Ack ack : acks) {
      history.write(ack.key(), ack.version(), ack.ackNanos());
    }
    List<WriteBehindProcess.Ack> lost = WriteBehindProcess.lostWrites(acks, key -> {
      try {
        return workload.load(key);
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read the committed version of " + key + " in table "
            + workload.table + ": " + e.getMessage(), e);
      }
    });
    int outOfOrder = AppliedVersions.outOfOrder(AppliedVersions.read(stack.database(), workload.table));
    log.info("{}: {} acknowledged writes, {} lost, {} applied out of order; {}", label, acks.size(), lost.size(),
        outOfOrder, measures.result().text());
    return Checker.check(label, history, Duration.ofMillis(scenario.windowMillis()), 0, lost.size())
        .withFaultMeasures(measures.result()).withOutOfOrderWrites(outOfOrder);
  }

  private List<WriteBehindProcess.Ack> heap(History history, FaultMeasures measures) throws InterruptedException {
    DatabaseServer db = stack.database();
    measures.requirePositive("producer kills");
    try (WriteBehindProcess process = WriteBehindProcess.start(new WriteBehindProcess.Spec(
        db.jdbcUrl(), db.user(), db.password(), workload.table, scenario.workload().keys(),
        scenario.workload().writesPerSecond(), HEAP_FLUSH_MILLIS, seed), READY_TIMEOUT)) {
      Thread.sleep(scenario.seconds() * 2000L / 3);
      history.faultStarted();
      process.kill();
      history.faultEnded();
      measures.increment("producer kills");
      return process.acks();
    }
  }

  private List<WriteBehindProcess.Ack> veracache(History history, FaultMeasures measures) throws Exception {
    DatabaseServer db = stack.database();
    KafkaServer kafka = stack.kafka();
    String topic = workload.table;
    kafka.createTopic(topic, LOG_PARTITIONS);
    kafka.createTopic(topic + ".dlt", 1);
    WriteBehindProcess.LogSpec logSpec = new WriteBehindProcess.LogSpec(stack.redis().uri(), kafka.bootstrapServers(),
        topic, namespace);
    String group = namespace + "-flusher";
    boolean brokerFault = scenario.fault().kind() == FaultKind.BROKER_RESTART;
    measures.requirePositive(brokerFault ? "broker kills" : "flusher kills");
    measures.requirePositive("producer kills");
    measures.add("failed puts", 0);
    CompletableFuture<WriteBehindProcess> startingFlusher = CompletableFuture.supplyAsync(
        () -> WriteBehindProcess.startFlusher(logSpec, group, db.jdbcUrl(), db.user(), db.password(), workload.table,
            READY_TIMEOUT));
    WriteBehindProcess flusher = null;
    WriteBehindProcess producer = null;
    try {
      producer = WriteBehindProcess.startProducer(logSpec, scenario.workload().keys(),
          scenario.workload().writesPerSecond(), seed, READY_TIMEOUT);
      flusher = join(startingFlusher);
      long start = System.nanoTime();
      long runNanos = TimeUnit.SECONDS.toNanos(scenario.seconds());
      if (brokerFault) {
        long faultNanos = TimeUnit.MILLISECONDS.toNanos(scenario.faultMillis());
        long faultStart = start + (runNanos - faultNanos) / 2;
        parkUntil(faultStart);
        history.faultStarted();
        kafka.kill();
        measures.increment("broker kills");
        parkUntil(faultStart + faultNanos);
        kafka.start();
        history.faultEnded();
        parkUntil(start + runNanos);
        producer.kill();
        measures.increment("producer kills");
      } else {
        parkUntil(start + runNanos / 3);
        flusher.kill();
        measures.increment("flusher kills");
        flusher = null;
        // a fresh JVM of the same group (and static member id): it replays what the dead one did not commit
        flusher = WriteBehindProcess.startFlusher(logSpec, group, db.jdbcUrl(), db.user(), db.password(),
            workload.table, READY_TIMEOUT);
        parkUntil(start + runNanos * 2 / 3);
        history.faultStarted();
        producer.kill();
        history.faultEnded();
        measures.increment("producer kills");
      }
      measures.add("failed puts", producer.failedPuts());
      awaitDrained(kafka.bootstrapServers(), group, topic);
      return producer.acks();
    } finally {
      if (producer != null) {
        producer.close();
      }
      if (flusher != null) {
        flusher.close();
      } else {
        // the first flusher, still starting or already killed: close it once it is there (close is idempotent)
        var unused = startingFlusher.thenAccept(WriteBehindProcess::close);
      }
      if (brokerFault && !kafka.isRunning()) {
        kafka.start();
      }
    }
  }

  private static WriteBehindProcess join(CompletableFuture<WriteBehindProcess> starting) throws Exception {
    try {
      return starting.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  /**
   * Waits until group {@code group}'s committed offsets reach the end of every partition of {@code topic}: the
   * flusher applied (or dead-lettered) everything the log holds.
   *
   * @throws IllegalStateException naming the group, the topic and the lag of each partition, after
   *     {@link #DRAIN_TIMEOUT}
   */
  private static void awaitDrained(String bootstrap, String group, String topic) throws Exception {
    long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    Map<TopicPartition, Long> lag = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000))) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < LOG_PARTITIONS; p++) {
        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      while (true) {
        Map<TopicPartition, ListOffsetsResultInfo> ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        lag.clear();
        for (Map.Entry<TopicPartition, ListOffsetsResultInfo> end : ends.entrySet()) {
          OffsetAndMetadata at = committed.get(end.getKey());
          long behind = end.getValue().offset() - (at == null ? 0 : at.offset());
          if (behind > 0) {
            lag.put(end.getKey(), behind);
          }
        }
        if (lag.isEmpty()) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the write-behind flusher of group " + group + " did not drain topic "
              + topic + " within " + DRAIN_TIMEOUT + "; records behind per partition: " + lag);
        }
        Thread.sleep(100);
      }
    }
  }

  private static void parkUntil(long deadlineNanos) {
    for (long wait = deadlineNanos - System.nanoTime(); wait > 0; wait = deadlineNanos - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
  }
}
