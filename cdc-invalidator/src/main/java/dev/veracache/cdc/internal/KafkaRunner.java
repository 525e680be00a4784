package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.cdc.MappingException;
import dev.veracache.cdc.TableMapping;
import dev.veracache.cdc.internal.Lifecycle.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka mode: one member of the consumer group that shares the change topics' partitions. Polls, applies each polled
 * batch to Redis through {@link BatchApplier}, and commits the batch's offsets only after Redis took it.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No offset is committed before its invalidations are in Redis</b> (R2, R6). A batch is committed
 *       ({@code commitSync}, only the partitions it came from, each at its last record + 1) after
 *       {@link BatchApplier#apply} returned, which is after Redis took all of it; a member that dies in between leaves
 *       the batch to whichever member gets its partitions, from the last commit (at least once; invalidations are
 *       idempotent). Auto-commit is off.</li>
 *   <li><b>A rebalance never commits past an unapplied record.</b> Polling, applying and committing run on one thread,
 *       and Kafka calls the rebalance listener only inside {@code poll}: when partitions are revoked every record
 *       polled from them was applied and committed (or the commit was refused and the next owner replays it).</li>
 *   <li><b>Per-key order</b> is per partition: Debezium's record key is the row's primary key, so every change of a
 *       row is in one partition, and a partition is read in order by one member at a time.</li>
 *   <li><b>A lost position is flushed, never guessed</b> (R6). The group reads with {@code auto.offset.reset=none}.
 *       A partition without a committed offset is read from its first retained record, and that position is
 *       committed at once. The mapped namespaces are flushed first (see {@link #startWithoutPosition}) on the group's
 *       first start (by {@code FirstStartPolicy}; also every topic deleted and recreated), for a mapped table's or a
 *       schema-change topic the group never committed while it committed others (recreated, or a mapped table's first
 *       change), when retention deleted records before the first retained one, or when a committed offset is out of
 *       range. Nothing is committed before the flush, so a member that dies during it flushes again. A poll that
 *       Kafka's consumer failed after moving positions rewinds every assigned partition to its last commit.</li>
 *   <li><b>Nothing is skipped silently.</b> A record that is not a Debezium change event written by JsonConverter
 *       with schemas (a row change with op and source, or a schema change with ddl and source; an unwrapped row, a
 *       schemaless envelope) stops the listener, naming topic, partition and offset. Tombstones (a delete's second
 *       record) and Debezium's own records (heartbeats, transaction metadata, notifications) carry nothing to apply
 *       and are skipped.</li>
 *   <li><b>LIVE means joined, every position known, and in contact.</b> LIVE once the member joined the group
 *       (possibly with no partition: a standby) and knows where to read each assigned partition, an owed flush done
 *       (FLUSHING meanwhile). Contact is derived when read ({@link #inContact()}): Kafka answered a commit (bounded by
 *       {@code stallThreshold}) or a contact check (an idle member asks the coordinator every
 *       {@link #CONTACT_CHECK_INTERVAL}) within {@code stallThreshold}; without it the listener is not live, even
 *       while its thread is blocked in a call to a broker that does not answer.</li>
 * </ul>
 */
public final class KafkaRunner {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidator.class);
  /** The longest a poll waits for records; a close wakes it at once. */
  static final Duration POLL_TIMEOUT = Duration.ofMillis(100);
  /** How often an idle member checks that Kafka answers, and how long it waits for the answer. */
  static final Duration CONTACT_CHECK_INTERVAL = Duration.ofSeconds(1);
  static final Duration CONTACT_TIMEOUT = Duration.ofSeconds(2);
  /** The schema names of Debezium's records that are no change (heartbeat, transaction metadata, notification). */
  static final String DEBEZIUM_OWN_RECORDS = "io.debezium.connector.common.";

  private final CdcOptions options;
  private final KafkaSource source;
  private final Lifecycle lifecycle;
  private final BatchApplier applier;
  private final ListenerMetrics metrics;
  private final NamespaceFlush flush;
  private final JsonConverter converter = new JsonConverter();
  private final Thread thread;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  /** Member thread only: the group gave this member an assignment (possibly empty) at least once. */
  private boolean joined;
  /** When Kafka last answered a commit or a contact check; read by {@link #inContact()} on any thread. */
  private volatile long lastContactNanos = System.nanoTime();
  /** Member thread only: positions may be past records never returned; rewind to the last commits first. */
  private boolean rewindPending;
  /** Member thread only: the loss of contact was logged (once per loss). */
  private boolean contactLossLogged;

  public KafkaRunner(CdcOptions options, Lifecycle lifecycle, BatchApplier applier, ListenerMetrics metrics,
      NamespaceFlush flush) {
    this.options = options;
    this.source = options.kafka();
    this.lifecycle = lifecycle;
    this.applier = applier;
    this.metrics = metrics;
    this.flush = flush;
    converter.configure(Map.of("schemas.enable", "true", "converter.type", "value"), false);
    this.thread = new Thread(this::run, "veracache-cdc-kafka-" + options.name());
    this.thread.setDaemon(true);
  }

  /**
   * Creates the consumer and starts polling on the member's own thread.
   *
   * @throws IllegalArgumentException for consumer settings Kafka refuses, with Kafka's reason
   */
  public void start() {
    try {
      consumer = new KafkaConsumer<>(consumerProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    } catch (KafkaException e) { // a bad setting: Kafka names it in the cause
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException("listener " + options.name() + ": the Kafka consumer settings of " + source
          + " are refused: " + cause.getMessage(), e);
    }
    if (!lifecycle.move(Phase.PROVING, Phase.STARTING)) {
      consumer.close();
      return;
    }
    thread.start();
    log.info("listener {} started in Kafka mode: {}", options.name(), source);
  }

  private Properties consumerProperties() {
    Properties props = new Properties();
    props.putAll(source.consumerProperties());
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, source.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, source.groupId());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, options.name());
    props.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(options.maxBatchSize()));
    props.putIfAbsent(ConsumerConfig.METADATA_MAX_AGE_CONFIG, Long.toString(source.topicRefresh().toMillis()));
    return props;
  }

  private void run() {
    KafkaConsumer<byte[], byte[]> c = consumer;
    try {
      c.subscribe(source.topicPattern(), new Rebalance());
      while (!lifecycle.isOver()) {
        ConsumerRecords<byte[], byte[]> polled;
        boolean positionsKnown = true;
        if (rewindPending) {
          rewindPending = !rewindToCommitted(c);
          continue;
        }
        try {
          polled = c.poll(POLL_TIMEOUT);
          if (lifecycle.phase() != Phase.LIVE && joined) {
            positionsKnown = positionsKnown(c); // an empty poll may not have fetched them yet
          }
        } catch (NoOffsetForPartitionException e) {
          startWithoutPosition(c, e.partitions());
          continue;
        } catch (OffsetOutOfRangeException e) {
          startAfterLostPosition(c, e.partitions(), "its committed offset is out of range "
              + e.offsetOutOfRangePartitions() + " (deleted by retention before this group read it, or the topic was "
              + "recreated)");
          continue;
        } catch (IllegalStateException e) {
          if (!String.valueOf(e.getMessage()).startsWith("No current assignment for partition")) {
            throw e;
          }
          // Kafka 4.2's consumer for group.protocol=consumer can fail a poll when a partition is taken away while its
          // fetched records are collected ("No current assignment for partition"), after it moved the positions of
          // records it then never returns: read every assigned partition again from its last commit.
          log.warn("listener {}: Kafka's consumer failed a poll ({}); reading the assigned partitions again from their "
              + "last commit", options.name(), e.getMessage());
          rewindPending = true;
          continue;
        }
        if (polled.isEmpty()) {
          checkContact(c);
        }
        updateLiveness(positionsKnown);
        if (!polled.isEmpty()) {
          applyAndCommit(c, polled);
        }
      }
    } catch (WakeupException | InterruptedException e) {
      if (!lifecycle.isClosed()) {
        lifecycle.fail(new IllegalStateException("listener " + options.name() + " interrupted", e));
      }
    } catch (RuntimeException e) {
      if (!lifecycle.isClosed()) {
        String message = "listener " + options.name() + " (Kafka mode) stopped: " + Secrets.mask(String.valueOf(
            e.getMessage()));
        log.error(message, e);
        lifecycle.fail(new IllegalStateException(message, e));
      }
    } finally {
      try {
        c.close(); // leaves the group: its partitions move at once, from the last commit
      } catch (KafkaException e) {
        log.warn("listener {}: the Kafka consumer did not close cleanly: {}", options.name(), e.getMessage());
      }
    }
  }

  /**
   * Seeks every assigned partition to its last committed offset (at least once: what was applied and not committed is
   * read again). False when Kafka did not answer or the assignment changed meanwhile: the caller tries again.
   */
  private boolean rewindToCommitted(KafkaConsumer<byte[], byte[]> c) {
    try {
      Set<TopicPartition> partitions = c.assignment();
      Map<TopicPartition, OffsetAndMetadata> committed = c.committed(partitions, CONTACT_TIMEOUT);
      for (TopicPartition partition : partitions) {
        OffsetAndMetadata offset = committed.get(partition);
        if (offset != null) {
          c.seek(partition, offset);
        } else {
          c.seekToBeginning(Set.of(partition)); // never committed: from its first record, as a new partition
        }
      }
      return true;
    } catch (org.apache.kafka.common.errors.TimeoutException | IllegalStateException e) {
      return false;
    }
  }

  /**
   * Whether the consumer knows where to read every assigned partition (asking for the ones it does not, at most
   * {@link #CONTACT_TIMEOUT} each). Throws what {@code poll} throws for a partition without a usable offset.
   */
  private boolean positionsKnown(KafkaConsumer<byte[], byte[]> c) {
    try {
      for (TopicPartition partition : c.assignment()) {
        c.position(partition, CONTACT_TIMEOUT);
      }
      return true;
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      return false;
    } catch (IllegalStateException e) {
      return false; // the assignment changed meanwhile ("No current assignment for partition"): the next poll tells
    }
  }

  /**
   * An empty poll proves nothing (quiet, or no broker answers): at most once per {@link #CONTACT_CHECK_INTERVAL}, ask
   * the group coordinator for the committed offsets of the assigned partitions (any broker for the topic list when
   * none are assigned); an answer is contact.
   */
  private void checkContact(KafkaConsumer<byte[], byte[]> c) {
    if (System.nanoTime() - lastContactNanos < CONTACT_CHECK_INTERVAL.toNanos()) {
      return;
    }
    try {
      Set<TopicPartition> partitions = c.assignment();
      if (partitions.isEmpty()) {
        c.listTopics(CONTACT_TIMEOUT);
      } else {
        c.committed(partitions, CONTACT_TIMEOUT);
      }
      lastContactNanos = System.nanoTime();
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      // no answer within the timeout: the contact's age grows
    }
  }

  /**
   * LIVE once the member joined the group and knows every position (an owed flush is done by then). Contact with
   * Kafka is not a phase: {@link #inContact()} is read with the phase (a member blocked in a call to a broker that does
   * not answer cannot change a phase); here its loss and return are only logged.
   */
  private void updateLiveness(boolean positionsKnown) {
    Phase phase = lifecycle.phase();
    if (joined && positionsKnown && (phase == Phase.PROVING || phase == Phase.FLUSHING)) {
      lifecycle.move(Phase.LIVE, Phase.PROVING, Phase.FLUSHING);
    }
    boolean inContact = inContact();
    if (!inContact && !contactLossLogged) {
      contactLossLogged = true;
      log.error("listener {}: {}; not live until Kafka answers again", options.name(), noContact());
    } else if (inContact && contactLossLogged) {
      contactLossLogged = false;
      log.info("listener {}: Kafka answers again", options.name());
    }
  }

  /**
   * Whether Kafka answered (a commit, or a contact check) within {@code stallThreshold}. Records handed out by
   * {@code poll} do not count: they may come from the consumer's buffer.
   */
  public boolean inContact() {
    return System.nanoTime() - lastContactNanos < options.stallThreshold().toNanos();
  }

  /** Why a member out of contact is not live. */
  public String noContact() {
    return "no answer from Kafka (" + source.bootstrapServers() + ") for more than "
        + options.stallThreshold().toSeconds() + " s: changes committed meanwhile are not invalidated";
  }

  /** Why the member is not live yet, for the status (a flush owed has its own status). */
  public String waitingFor() {
    return "joining the Kafka consumer group " + source.groupId();
  }

  private void applyAndCommit(KafkaConsumer<byte[], byte[]> c, ConsumerRecords<byte[], byte[]> polled)
      throws InterruptedException {
    List<SourceRecord> records = new ArrayList<>(polled.count());
    Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : polled) {
      next.put(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1));
      if (record.value() == null) {
        continue; // a tombstone: what it deletes was invalidated by the delete before it
      }
      SourceRecord change = sourceRecord(record);
      if (change != null) {
        records.add(change);
      }
    }
    applier.apply(records, () -> commit(c, next));
  }

  /** The change event of a record, or null for a Debezium heartbeat or transaction record (nothing to apply). */
  private SourceRecord sourceRecord(ConsumerRecord<byte[], byte[]> record) {
    SchemaAndValue value;
    try {
      value = converter.toConnectData(record.topic(), record.value());
    } catch (DataException e) {
      throw notAChangeEvent(record, "JsonConverter cannot read it: " + e.getMessage());
    }
    if (!(value.value() instanceof Struct struct)) {
      throw notAChangeEvent(record, "its value has no schema (" + (value.value() == null ? "null"
          : value.value().getClass().getSimpleName()) + ")");
    }
    Schema schema = struct.schema();
    String name = schema.name() == null ? "" : schema.name();
    if (name.startsWith(DEBEZIUM_OWN_RECORDS)) {
      return null; // heartbeats, transaction metadata, notifications: nothing to apply
    }
    boolean rowChange = schema.field("op") != null && schema.field("source") != null;
    boolean schemaChange = schema.field("ddl") != null && schema.field("source") != null;
    if (!rowChange && !schemaChange) {
      throw notAChangeEvent(record, "its value (schema '" + name + "', fields " + schema.fields().stream()
          .map(Field::name).toList() + ") is neither a row change (op, source) nor a schema change (ddl, source): an "
          + "unwrapping transform (ExtractNewRecordState) on the connector?");
    }
    return new SourceRecord(null, null, record.topic(), record.partition(), value.schema(), struct);
  }

  private MappingException notAChangeEvent(ConsumerRecord<byte[], byte[]> record, String why) {
    return new MappingException("listener " + options.name() + ": the record at " + record.topic() + "-"
        + record.partition() + "@" + record.offset() + " is not a Debezium change event written by JsonConverter "
        + "with schemas enabled (" + why + "); stopping rather than skipping it");
  }

  private void commit(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, OffsetAndMetadata> offsets) {
    try {
      c.commitSync(offsets, options.stallThreshold());
      lastContactNanos = System.nanoTime();
      metrics.kafkaCommits.increment();
    } catch (CommitFailedException | RebalanceInProgressException | RetriableException e) {
      // Applied but not committed: whoever reads these partitions next replays them from the last commit.
      metrics.kafkaCommitsRefused.increment();
      log.warn("listener {}: Kafka refused the commit of {} (applied; the partitions' next reader replays them from "
          + "the last commit): {}", options.name(), new TreeSet<>(offsets.keySet().stream().map(Object::toString)
          .toList()), e.toString());
    }
  }

  /**
   * Partitions without a committed offset: read from their first retained record, and take that position at once
   * (committed), so that a partition is without one only until a member first meets it. Flushes first when changes
   * the mappings care about may be gone:
   * <ul>
   *   <li>the group has no committed offset at all: its first start, or every topic was deleted and recreated (both
   *       lose the offsets); by {@code FirstStartPolicy}, as the embedded mode's first start;</li>
   *   <li>the group committed other topics but no partition of this one, and the topic is a mapped table's or a
   *       connector's schema-change topic: it was recreated (its offsets went with it), or a mapped table had its first
   *       change; a topic of an unmapped table, or a new partition of a topic already read, flushes nothing;</li>
   *   <li>records before the first retained one were deleted by retention (not under ASSUME_FRESH_INSTALL on a first
   *       start).</li>
   * </ul>
   * A broker that does not answer here leaves the positions unknown: the next poll comes back to it.
   */
  private void startWithoutPosition(KafkaConsumer<byte[], byte[]> c, Set<TopicPartition> partitions)
      throws InterruptedException {
    Map<TopicPartition, Long> starts;
    Set<TopicPartition> committed;
    Map<String, List<org.apache.kafka.common.PartitionInfo>> topics;
    try {
      starts = c.beginningOffsets(partitions, CONTACT_TIMEOUT);
      topics = c.listTopics(CONTACT_TIMEOUT);
      committed = committedPartitions(c, topics);
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      log.warn("listener {}: Kafka did not answer while finding the positions of {} ({}); trying again",
          options.name(), partitions, e.getMessage());
      return;
    }
    List<TopicPartition> truncated = starts.entrySet().stream().filter(e -> e.getValue() > 0).map(Map.Entry::getKey)
        .toList();
    Set<String> topicsWithoutAnyCommit = new java.util.TreeSet<>();
    for (TopicPartition partition : partitions) {
      if (committed.stream().noneMatch(p -> p.topic().equals(partition.topic()))) {
        topicsWithoutAnyCommit.add(partition.topic());
      }
    }
    List<String> relevantNewTopics = topicsWithoutAnyCommit.stream().filter(t -> concernsTheMappings(t, topics.keySet()))
        .toList();
    boolean firstStart = committed.isEmpty();
    boolean freshInstall = options.firstStartPolicy() == CdcOptions.FirstStartPolicy.ASSUME_FRESH_INSTALL;
    String reason = null;
    if (firstStart && !freshInstall) {
      reason = "the group has no committed offset (its first start, or every topic was deleted and recreated): "
          + "changes before the connector's first position, or in the lost topics, may never come";
    } else if (!firstStart && !relevantNewTopics.isEmpty()) {
      reason = "no offset committed for any partition of " + relevantNewTopics + ", while the group committed other "
          + "topics: recreated (its offsets go with it), or a mapped table's first change";
    } else if (!truncated.isEmpty() && !(firstStart && freshInstall)) {
      reason = "no offset committed for " + truncated + ", whose first records were already deleted by retention";
    }
    if (reason != null) {
      if (firstStart) {
        metrics.firstStartsFlushed.increment();
      }
      startAfterLostPosition(c, partitions, reason);
    } else if (firstStart && freshInstall) {
      metrics.firstStartsAssumedFresh.increment();
      log.warn("listener {}: the group has no committed offset; policy ASSUME_FRESH_INSTALL: flushing nothing, reading "
          + "{} from the first retained record", options.name(), partitions);
    } else {
      log.info("listener {}: reading {} from their first record (nothing the mappings need was lost before it)",
          options.name(), partitions);
    }
    Map<TopicPartition, OffsetAndMetadata> taken = new HashMap<>();
    starts.forEach((partition, start) -> {
      try {
        c.seek(partition, start);
        taken.put(partition, new OffsetAndMetadata(start));
      } catch (IllegalStateException e) {
        // no longer assigned (a rebalance during the flush, or this member was put out of the group): its next
        // owner finds the position itself
      }
    });
    commit(c, taken);
  }

  /**
   * A mapped table's topic ({@code <prefix>.<database>.<table>}), or a connector's schema-change topic (its bare
   * prefix: a topic {@code <it>.<mapped table>} exists, or it has no dot at all).
   */
  private boolean concernsTheMappings(String topic, Set<String> allTopics) {
    for (TableMapping mapping : options.mappings().tables()) {
      if (topic.endsWith("." + mapping.table()) || allTopics.contains(topic + "." + mapping.table())) {
        return true;
      }
    }
    return topic.indexOf('.') < 0;
  }

  /** The partitions of the subscribed topics (those that exist now) this group has an offset for. */
  private Set<TopicPartition> committedPartitions(KafkaConsumer<byte[], byte[]> c,
      Map<String, List<org.apache.kafka.common.PartitionInfo>> topics) {
    Set<TopicPartition> all = new java.util.HashSet<>();
    topics.forEach((topic, infos) -> {
      if (source.topicPattern().matcher(topic).matches()) {
        infos.forEach(info -> all.add(new TopicPartition(topic, info.partition())));
      }
    });
    Set<TopicPartition> committed = new java.util.HashSet<>();
    c.committed(all, CONTACT_TIMEOUT).forEach((partition, offset) -> {
      if (offset != null) {
        committed.add(partition);
      }
    });
    return committed;
  }

  /**
   * Changes may have been missed: flush every mapped namespace (not live meanwhile), then read the partitions from
   * their first retained record. Nothing is committed before the flush is done.
   */
  private void startAfterLostPosition(KafkaConsumer<byte[], byte[]> c, Set<TopicPartition> partitions, String reason)
      throws InterruptedException {
    log.warn("listener {}: {}: flushing the mapped namespaces {} before reading {} from the first retained record",
        options.name(), reason, flush.namespaces(), partitions);
    flush.owe(reason);
    long duty = flush.dutyGeneration();
    lifecycle.move(Phase.FLUSHING, Phase.PROVING, Phase.LIVE);
    if (!flush.flushAll()) {
      throw new InterruptedException("closing during the flush; nothing was committed, so the next member flushes");
    }
    flush.clearIfStill(duty);
    metrics.lostPositionFlushes.increment();
    Set<TopicPartition> stillAssigned = new java.util.HashSet<>(partitions);
    stillAssigned.retainAll(c.assignment()); // a rebalance during the flush may have taken some away
    c.seekToBeginning(stillAssigned);
  }

  /** Ends the polling loop (nothing more is applied or committed) and waits for the member to leave the group. */
  public void close() {
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c == null || !thread.isAlive()) {
      return; // never polled (start closed the consumer), or the loop ended and closed it
    }
    c.wakeup();
    try {
      thread.join(Duration.ofSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      log.warn("listener {}: Kafka member thread still running after 30 s", options.name());
    }
  }

  /** Runs inside poll, on the member's thread: whatever was polled before is applied and committed (or refused). */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      joined = true; // live at the end of this poll, once every position is found (see updateLiveness)
      log.info("listener {}: assigned {}; reading {}", options.name(), partitions, consumer.assignment());
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      log.info("listener {}: revoked {} (everything polled from them was applied)", options.name(), partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      log.warn("listener {}: lost {} (out of the group: what was polled from them was applied, and its commit may be "
          + "refused; the next owner replays from the last commit)", options.name(), partitions);
    }
  }
}
