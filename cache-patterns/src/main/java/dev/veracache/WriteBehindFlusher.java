package dev.veracache;

import dev.veracache.DeadLetters.Poison;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a write-behind log to the database: a member of a Kafka consumer group ({@link FlushLoop}) that polls a
 * batch, coalesces it per key, applies it in one transaction through a {@link WriteBehindWriter}, fences the cache's
 * keys at the flushed versions, and only then lets the loop commit the batch's offsets. Run it in the application or
 * in a process of its own; flushers of one log share a group and split its partitions.
 *
 * <p>Invariants (and those of {@link FlushLoop}):
 * <ul>
 *   <li><b>Coalescing keeps the highest version of a key</b>: a later put or delete wins over earlier ones, whatever
 *       order two clients' records reached the log in.</li>
 *   <li><b>Replays change nothing</b>: the writer applies a version only above the row's, so a batch applied again
 *       after a crash (between the database commit and the offset commit) is a no-op (promise 5).</li>
 *   <li><b>A database that fails or refuses never loses a record</b>: the loop keeps the batch and retries it.</li>
 *   <li><b>A record that can never be applied</b> (no Veracache headers, a value the codec cannot read, a data or
 *       constraint error for that change alone) goes to the dead-letter topic with the error, is counted and logged,
 *       and its key is invalidated in the cache: the cache must not serve a value the database will never have.</li>
 *   <li><b>After a flush the key is fenced at the flushed version</b>: a value cached at that version or newer (a
 *       write still pending) stays; an older one (a fill that raced the write) is dropped.</li>
 * </ul>
 */
public final class WriteBehindFlusher<K, V> implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WriteBehindFlusher.class);

  private final FlushedKeys cache;
  private final WriteBehindOptions<K, V> options;
  private final FlusherOptions flusherOptions;
  private final DataSource database;
  private final WriteBehindWriter<K, V> writer;
  private final WriteBehindMetrics metrics;
  private final String name;
  private final DeadLetters deadLetters;
  private final FlushLoop loop;

  WriteBehindFlusher(FlushedKeys cache, WriteBehindOptions<K, V> options, FlusherOptions flusherOptions,
      DataSource database, WriteBehindWriter<K, V> writer, WriteBehindMetrics metrics) {
    this.cache = cache;
    this.options = options;
    this.flusherOptions = flusherOptions;
    this.database = database;
    this.writer = writer;
    this.metrics = metrics;
    this.name = "write-behind flusher of cache '" + options.cache.namespace + "'";
    String deadLetterTopic = flusherOptions.deadLetterTopic(options.topic);
    KafkaClients.checkTopics(options.logSettings(), List.of(options.topic, deadLetterTopic));
    this.deadLetters = new DeadLetters(options.logSettings(), deadLetterTopic);
    this.loop = new FlushLoop(name, options.logSettings(), options.topic, flusherOptions, metrics, this::flush);
  }

  WriteBehindFlusher<K, V> start() {
    loop.start(deadLetters);
    log.info("{} started: topic {}, group {}, dead letters to {}", name, options.topic, flusherOptions.groupId,
        deadLetters.topic);
    return this;
  }

  /** Records in the log this flusher has not applied yet, on the partitions it owns (also a gauge). */
  public long backlog() {
    return metrics.backlog.get();
  }

  /** False once {@link #close} ran, or if the flusher thread died (the error is logged at ERROR). */
  public boolean isRunning() {
    return loop.isRunning();
  }

  /** One batch: decode, coalesce, apply, dead-letter, fence the cache. The loop commits the offsets after. */
  private void flush(List<ConsumerRecord<String, byte[]>> records) throws RetryLater {
    Map<String, List<Pending<K, V>>> byKey = new LinkedHashMap<>(); // each key's writes, newest first
    List<Poison> poisons = new ArrayList<>();
    List<FlushedKeys.Flushed> deadFences = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      try {
        Pending<K, V> change = decode(record);
        byKey.computeIfAbsent(change.local, k -> new ArrayList<>()).add(change);
      } catch (Exception e) {
        poisons.add(new Poison(record, record.key(), e));
      }
    }
    byKey.values().forEach(writes -> writes.sort(NEWEST_FIRST));
    int decoded = records.size() - poisons.size();
    List<Pending<K, V>> applied = apply(byKey, poisons, deadFences);
    deadLetters.send(poisons);
    try {
      flusherOptions.hooks.afterDatabaseCommit(applied.size());
    } catch (RuntimeException e) {
      throw new RetryLater("a test hook threw after the database commit: " + e, e);
    }
    List<FlushedKeys.Flushed> fences = new ArrayList<>();
    for (Pending<K, V> p : applied) {
      fences.add(FlushedKeys.Flushed.committed(p.local, p.change.version(), p.change.deleted()));
    }
    fences.addAll(deadFences); // after the commits of their keys: a dead letter's fence must have the last word
    for (Poison poison : poisons) {
      metrics.deadLettered.increment();
      log.error("{}: record {} (key '{}') can never be applied, sent to {}: {}", name, poison.where(), poison.key(),
          deadLetters.topic, DeadLetters.describe(poison.error()));
    }
    cache.invalidateFlushed(fences);
    for (Poison poison : poisons) {
      if (poison.key() != null && deadFences.stream().noneMatch(f -> f.local().equals(poison.key()))) {
        cache.invalidateUnversioned(poison.key()); // did not decode: no version to fence at
      }
    }
    long now = System.currentTimeMillis();
    for (ConsumerRecord<String, byte[]> record : records) {
      metrics.flushLag.record(Math.max(0, now - record.timestamp()), TimeUnit.MILLISECONDS);
    }
    metrics.flushed.increment(applied.size());
    metrics.coalesced.increment(decoded - applied.size() - deadFences.size());
  }

  private static final java.util.Comparator<Pending<?, ?>> NEWEST_FIRST =
      (a, b) -> Long.compare(b.change.version(), a.change.version());

  /**
   * Applies each key's newest write in one transaction. If the batch is refused for a bad record, applies key by key:
   * a key's newest write that the database refuses is dead-lettered and its next older write is tried, so an
   * acknowledged write is never dropped because a later one of its key can never be applied. Returns what applied.
   */
  private List<Pending<K, V>> apply(Map<String, List<Pending<K, V>>> byKey, List<Poison> poisons,
      List<FlushedKeys.Flushed> deadFences) throws RetryLater {
    List<Pending<K, V>> newest = byKey.values().stream().map(writes -> writes.get(0)).toList();
    if (newest.isEmpty()) {
      return newest;
    }
    try {
      applyInTransaction(newest);
      return newest;
    } catch (Exception e) {
      if (!DeadLetters.marksBadRecord(e)) {
        throw new RetryLater(DeadLetters.describe(e), e);
      }
      log.info("{}: batch of {} changes refused ({}); applying them one by one to find the bad one", name,
          newest.size(), DeadLetters.describe(e));
    }
    List<Pending<K, V>> applied = new ArrayList<>();
    for (List<Pending<K, V>> writes : byKey.values()) {
      for (Pending<K, V> change : writes) {
        try {
          applyInTransaction(List.of(change));
          applied.add(change);
          break;
        } catch (Exception e) {
          if (!DeadLetters.marksBadRecord(e)) {
            throw new RetryLater(DeadLetters.describe(e), e);
          }
          poisons.add(new Poison(change.record, change.local, e));
          deadFences.add(FlushedKeys.Flushed.deadLettered(change.local, change.change.version(),
              change.change.deleted()));
        }
      }
    }
    return applied;
  }

  private void applyInTransaction(List<Pending<K, V>> changes) throws Exception {
    try (Connection connection = database.getConnection()) {
      connection.setAutoCommit(false);
      try {
        writer.write(connection, changes.stream().map(p -> p.change).toList());
        connection.commit();
      } catch (Exception | Error e) {
        try {
          connection.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      }
    }
  }

  private Pending<K, V> decode(ConsumerRecord<String, byte[]> record) throws Exception {
    LogEntry entry = LogEntry.parse(record);
    if (!entry.namespace().equals(options.cache.namespace)) {
      throw new IllegalArgumentException("log record " + record.topic() + "-" + record.partition() + "@"
          + record.offset() + " was written by cache '" + entry.namespace() + "', not '" + options.cache.namespace
          + "' (one log per cache)");
    }
    K key = options.keyDecoder.apply(entry.key());
    if (key == null) {
      throw new IllegalArgumentException("keyDecoder turned '" + entry.key() + "' into null");
    }
    V value = entry.operation() == LogEntry.Operation.PUT ? options.cache.codec.decode(entry.payload()) : null;
    if (entry.operation() == LogEntry.Operation.PUT && value == null) {
      throw new IllegalArgumentException("the codec decoded the value of key '" + entry.key() + "' as null");
    }
    return new Pending<>(entry.key(), record, new WriteBehindChange<>(key, value, entry.version()));
  }

  /** Stops polling, abandons an unfinished batch (the next flusher of the group replays it), closes the clients. */
  @Override
  public void close() {
    loop.close(options.sendTimeout.plus(Duration.ofSeconds(5)));
  }

  /** A change with the record it came from. */
  private record Pending<K, V>(String local, ConsumerRecord<String, byte[]> record, WriteBehindChange<K, V> change) {}
}
