package dev.veracache;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer side shared by the flushers of a log: a member of a Kafka consumer group on a thread of its own that
 * polls a batch, hands it to an {@link Applier}, and commits the batch's offsets only once the applier returned.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Offsets are committed only after the applier returned</b> (it returns after its database commit): a crash
 *       anywhere replays the batch, which appliers make harmless (versions, operation ids).</li>
 *   <li><b>A batch the applier cannot take now is kept and retried</b> with exponential backoff while the partitions
 *       are paused; the consumer keeps polling, so it stays in its group, and records that arrive meanwhile (from a
 *       partition assigned during the wait) join the batch. Retries are counted and logged.</li>
 *   <li><b>A rebalance abandons the records of revoked (or lost) partitions</b> without committing past them: their
 *       next owner replays them. A commit refused because the group moved on is not an error for the same reason.
 *       Partitions are paused only while a batch waits for its retry: once nothing is in flight, all are resumed.</li>
 *   <li><b>The thread never dies silently</b>: an unexpected error is logged at ERROR and {@link #isRunning} turns
 *       false; the records stay in the log for the group's next member.</li>
 * </ul>
 */
final class FlushLoop {

  /** What a flusher does with a batch of records. */
  interface Applier {
    /** Applies the batch (dead-lettering what can never be applied) or throws to have it retried later. */
    void apply(List<ConsumerRecord<String, byte[]>> batch) throws RetryLater;

    /** Called on the loop's thread between polls (at least every poll timeout); for periodic work. */
    default void betweenPolls() {}
  }

  private static final Logger log = LoggerFactory.getLogger(FlushLoop.class);
  static final Duration POLL_TIMEOUT = Duration.ofMillis(200);

  private final String name;
  private final String topic;
  private final FlusherOptions flusherOptions;
  private final WriteBehindMetrics metrics;
  private final Applier applier;
  private final KafkaConsumer<String, byte[]> consumer;
  private final List<ConsumerRecord<String, byte[]>> inFlight = new ArrayList<>();
  private final List<AutoCloseable> closeAfter = new ArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable died;

  FlushLoop(String name, LogSettings log, String topic, FlusherOptions flusherOptions,
      WriteBehindMetrics metrics, Applier applier) {
    this.name = name;
    this.topic = topic;
    this.flusherOptions = flusherOptions;
    this.metrics = metrics;
    this.applier = applier;
    Properties p = KafkaClients.base(log);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, flusherOptions.groupId);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, flusherOptions.maxBatchSize);
    this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "veracache-flusher-" + topic);
    thread.setDaemon(true);
  }

  /** Starts the thread; {@code closeables} are closed by the thread when it ends (clients the applier uses). */
  FlushLoop start(AutoCloseable... closeables) {
    closeAfter.addAll(List.of(closeables));
    thread.start();
    return this;
  }

  boolean isRunning() {
    return running && died == null;
  }

  private void run() {
    int failures = 0;
    try {
      consumer.subscribe(List.of(topic), new AbandonRevoked());
      while (running) {
        applier.betweenPolls();
        if (inFlight.isEmpty()) {
          // Nothing is waiting for a retry (a rebalance may have abandoned the batch that was): nothing stays paused.
          consumer.resume(consumer.paused());
          consumer.poll(POLL_TIMEOUT).forEach(inFlight::add);
          updateBacklog();
          if (inFlight.isEmpty()) {
            continue;
          }
        }
        try {
          List<ConsumerRecord<String, byte[]>> batch = List.copyOf(inFlight);
          applier.apply(batch);
          commitOffsets(batch);
          inFlight.clear();
          failures = 0;
          updateBacklog();
        } catch (RetryLater e) {
          failures++;
          metrics.retried.increment();
          Duration wait = backoff(failures);
          log.warn("{}: batch of {} records not applied (attempt {}), retrying in {} ms: {}", name, inFlight.size(),
              failures, wait.toMillis(), e.getMessage());
          waitPolling(wait);
        }
      }
    } catch (WakeupException e) {
      // close() woke the consumer up
    } catch (Throwable e) { // a bug or a simulated crash: never silently
      died = e;
      log.error("{} died; its records stay in the log for the next member of group {}", name, flusherOptions.groupId,
          e);
    } finally {
      running = false;
      closeQuietly(consumer);
      closeAfter.forEach(FlushLoop::closeQuietly);
      log.info("{} stopped", name);
    }
  }

  /** Waits with the partitions paused, polling so that the consumer stays in its group; keeps what arrives. */
  private void waitPolling(Duration wait) {
    consumer.pause(consumer.assignment());
    long until = System.nanoTime() + wait.toNanos();
    long left;
    while (running && (left = until - System.nanoTime()) > 0) {
      consumer.poll(Duration.ofNanos(Math.min(left, POLL_TIMEOUT.toNanos()))).forEach(inFlight::add);
    }
  }

  private Duration backoff(int failures) {
    long initial = flusherOptions.initialRetryBackoff.toMillis();
    long wait = initial << Math.min(failures - 1, 20);
    return Duration.ofMillis(Math.min(flusherOptions.maxRetryBackoff.toMillis(), wait));
  }

  private void updateBacklog() {
    long lag = inFlight.size();
    for (TopicPartition tp : consumer.assignment()) {
      lag += consumer.currentLag(tp).orElse(0);
    }
    metrics.backlog.set(lag);
  }

  private void commitOffsets(List<ConsumerRecord<String, byte[]>> batch) throws RetryLater {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : batch) {
      offsets.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1),
          (a, b) -> a.offset() >= b.offset() ? a : b);
    }
    try {
      consumer.commitSync(offsets);
    } catch (CommitFailedException | RebalanceInProgressException e) {
      // The partitions moved on: their new owner replays from the last commit, which appliers make harmless.
      log.info("{}: offsets not committed, the group rebalanced ({}); the new owner replays the batch", name,
          e.getMessage());
    } catch (WakeupException e) {
      throw e;
    } catch (KafkaException e) {
      throw new RetryLater("offsets not committed: " + e, e);
    }
  }

  /** Stops polling, abandons an unfinished batch (the group's next member replays it), waits for the thread. */
  void close(Duration wait) {
    if (!running) {
      return;
    }
    running = false;
    consumer.wakeup();
    try {
      thread.join(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      log.warn("{}: thread still running {} after close", name, wait);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      log.warn("closing {}: {}", c.getClass().getSimpleName(), e.toString());
    }
  }

  /** Drops the in-flight records of revoked partitions: nothing is committed past them, their next owner replays. */
  private final class AbandonRevoked implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      int before = inFlight.size();
      inFlight.removeIf(r -> partitions.contains(new TopicPartition(r.topic(), r.partition())));
      if (inFlight.size() != before) {
        log.info("{}: {} in-flight records of revoked partitions {} abandoned (their next owner replays them)", name,
            before - inFlight.size(), partitions);
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      log.debug("{}: assigned {}", name, partitions);
    }
  }
}
