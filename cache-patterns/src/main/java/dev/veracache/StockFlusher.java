package dev.veracache;

import dev.veracache.DeadLetters.Poison;
import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.StockOrphan;
import dev.veracache.internal.L2Failure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a flash-sale log to the database ({@link FlushLoop} does the consuming): per batch, one transaction records
 * every DECREMENT and RELEASE id in the applied table ({@code INSERT IGNORE}: the first record of an id decides its
 * outcome) and subtracts the sold units of the DECREMENTs seen for the first time; after the commit the reservations
 * are settled in Redis (a released one gives its units back). Between polls it reaps: a reservation still pending
 * past its deadline gets a RELEASE written behind it in the log.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Exactly once per sale</b>: an id's outcome row and its stock change commit together; a replayed batch
 *       finds the ids and changes nothing.</li>
 *   <li><b>Per item, the log's order decides</b>: a DECREMENT before its RELEASE stands (the RELEASE only settles the
 *       reservation); a RELEASE first gives the units back and the late DECREMENT is ignored.</li>
 *   <li><b>Units go back at most once</b>: a settle removes the reservation and gives units back in one script; a
 *       replay finds it gone.</li>
 *   <li>Redis settles happen after the database commit and are retried with the batch when Redis fails.</li>
 * </ul>
 */
public final class StockFlusher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StockFlusher.class);
  private static final String APPLIED = "APPLIED";
  private static final String RELEASED = "RELEASED";
  private static final String REFUSED = "REFUSED";

  private final StockOptions options;
  private final FlusherOptions flusherOptions;
  private final FenceProtocol fence;
  private final DataSource database;
  private final StockWriter writer;
  private final WriteBehindMetrics metrics;
  private final Counter released;
  private final Counter refused;
  private final String name;
  private final DeadLetters deadLetters;
  private final KafkaProducer<String, byte[]> releases;
  private final FlushLoop loop;
  private final long reapEveryNanos;
  private long lastReap;
  /** The driver answered a batch without per-row counts once: record sales one statement at a time from then on. */
  private volatile boolean batchCountsUnknown;

  StockFlusher(StockOptions options, FlusherOptions flusherOptions, FenceProtocol fence, DataSource database,
      StockWriter writer, WriteBehindMetrics metrics, MeterRegistry registry, String client) {
    this.options = options;
    this.flusherOptions = flusherOptions;
    this.fence = fence;
    this.database = database;
    this.writer = writer;
    this.metrics = metrics;
    this.released = Counter.builder("veracache.stock.released").tags("client", client, "stock", options.namespace)
        .description("Reservations given back: their sale never reached the log").register(registry);
    this.refused = Counter.builder("veracache.stock.refused").tags("client", client, "stock", options.namespace)
        .description("Sales the database refused (the stock they need is not there): recorded as REFUSED")
        .register(registry);
    this.name = "stock flusher of '" + options.namespace + "'";
    this.reapEveryNanos = options.orphanAfter.toNanos() / 4;
    String deadLetterTopic = flusherOptions.deadLetterTopic(options.topic);
    KafkaClients.checkTopics(options.logSettings(), List.of(options.topic, deadLetterTopic));
    checkAppliedTable();
    this.deadLetters = new DeadLetters(options.logSettings(), deadLetterTopic);
    this.releases = new KafkaProducer<>(KafkaClients.producer(options.logSettings()), new StringSerializer(),
        new ByteArraySerializer());
    this.loop = new FlushLoop(name, options.logSettings(), options.topic, flusherOptions, metrics,
        new FlushLoop.Applier() {
          @Override
          public void apply(List<ConsumerRecord<String, byte[]>> batch) throws RetryLater {
            flush(batch);
          }

          @Override
          public void betweenPolls() {
            reapIfDue();
          }
        });
  }

  StockFlusher start() {
    loop.start(deadLetters, releases);
    log.info("{} started: topic {}, group {}, applied table {}", name, options.topic, flusherOptions.groupId,
        options.appliedTable);
    return this;
  }

  private void checkAppliedTable() {
    try (Connection c = database.getConnection();
         PreparedStatement ps = c.prepareStatement("SELECT op_id, outcome FROM " + options.appliedTable
             + " WHERE 1 = 0")) {
      ps.executeQuery().close();
    } catch (SQLException e) {
      throw new WriteBehindException(name + ": the applied table " + options.appliedTable + " cannot be read ("
          + e.getMessage() + "); create it: " + options.appliedTableDdl(), e);
    }
  }

  /** Records in the log this flusher has not applied yet, on the partitions it owns. */
  public long backlog() {
    return metrics.backlog.get();
  }

  public boolean isRunning() {
    return loop.isRunning();
  }

  private void flush(List<ConsumerRecord<String, byte[]>> records) throws RetryLater {
    List<StockEntry> entries = new ArrayList<>();
    List<Poison> poisons = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      try {
        StockEntry entry = StockEntry.parse(record);
        if (!entry.namespace().equals(options.namespace)) {
          throw new IllegalArgumentException("stock record of '" + entry.namespace() + "', not '" + options.namespace
              + "' (one log per stock)");
        }
        entries.add(entry);
      } catch (RuntimeException e) {
        poisons.add(new Poison(record, record.key(), e));
      }
    }
    Map<String, String> outcomes = entries.isEmpty() ? Map.of() : applyInTransaction(entries, poisons);
    deadLetters.send(poisons);
    for (Poison poison : poisons) {
      metrics.deadLettered.increment();
      log.error("{}: record {} can never be applied, sent to {}: {}", name, poison.where(), deadLetters.topic,
          DeadLetters.describe(poison.error()));
    }
    try {
      flusherOptions.hooks.afterDatabaseCommit(entries.size());
    } catch (RuntimeException e) {
      throw new RetryLater("a test hook threw after the database commit: " + e, e);
    }
    try {
      for (StockEntry entry : entries) {
        boolean giveBack = RELEASED.equals(outcomes.get(entry.id()));
        if (fence.stockSettle(options.counterKey(entry.item()), options.pendingKey(entry.item()), entry.id(), giveBack)
            && giveBack) {
          released.increment();
          log.info("{}: reservation {} of {} x '{}' given back: its sale never reached the log", name, entry.id(),
              entry.amount(), entry.item());
        }
      }
    } catch (L2Failure e) {
      throw new RetryLater("reservations not settled in Redis: " + e.getMessage(), e);
    }
    long now = System.currentTimeMillis();
    for (ConsumerRecord<String, byte[]> record : records) {
      metrics.flushLag.record(Math.max(0, now - record.timestamp()), TimeUnit.MILLISECONDS);
    }
    metrics.flushed.increment(entries.size());
  }

  /**
   * Records the ids, subtracts first-seen sales, commits; returns each id's outcome. If the database refuses the batch
   * for a bad record (a stock that would go below its CHECK: Redis lost acknowledged sales and sold again), applies
   * sale by sale and records each refused one as REFUSED, dead-lettered and counted, so one refusal never holds back
   * the item's other sales.
   */
  private Map<String, String> applyInTransaction(List<StockEntry> entries, List<Poison> poisons) throws RetryLater {
    try {
      return applyBatch(entries);
    } catch (SQLException | RuntimeException e) {
      if (!DeadLetters.marksBadRecord(e)) {
        throw new RetryLater(DeadLetters.describe(e), e); // the database's state: retried, never dropped
      }
      log.warn("{}: batch of {} sales refused ({}); applying them one by one", name, entries.size(),
          DeadLetters.describe(e));
    }
    Map<String, String> outcomes = new HashMap<>();
    for (StockEntry entry : entries) {
      try {
        outcomes.putAll(applyBatch(List.of(entry)));
      } catch (SQLException | RuntimeException e) {
        if (!DeadLetters.marksBadRecord(e)) {
          throw new RetryLater(DeadLetters.describe(e), e);
        }
        try {
          outcomes.putAll(record(entry, REFUSED));
        } catch (SQLException recordFailed) {
          throw new RetryLater(DeadLetters.describe(recordFailed), recordFailed);
        }
        refused.increment();
        poisons.add(new Poison(entry.record(), entry.item(), e));
        log.error("{}: sale {} of {} x '{}' refused by the database ({}): the stock it needs is not there (Redis "
            + "lost acknowledged sales and sold them again?); recorded as REFUSED", name, entry.id(), entry.amount(),
            entry.item(), DeadLetters.describe(e));
      }
    }
    return outcomes;
  }

  /** Records {@code outcome} for one sale id (if it has none yet), in a transaction of its own. */
  private Map<String, String> record(StockEntry entry, String outcome) throws SQLException {
    try (Connection c = database.getConnection()) {
      c.setAutoCommit(true);
      try (PreparedStatement ps = c.prepareStatement("INSERT IGNORE INTO " + options.appliedTable
          + " (op_id, outcome) VALUES (?, ?)")) {
        ps.setString(1, entry.id());
        ps.setString(2, outcome);
        ps.executeUpdate();
      }
      return outcomes(c, Set.of(entry.id()));
    }
  }

  private Map<String, String> applyBatch(List<StockEntry> entries) throws SQLException {
    try (Connection c = database.getConnection()) {
      c.setAutoCommit(false);
      try {
        int[] inserted = insertApplied(c, entries, !batchCountsUnknown);
        if (!everyCountExact(inserted)) {
          // A driver that rewrites batches (Connector/J's rewriteBatchedStatements=true, MariaDB's bulk statements)
          // answers SUCCESS_NO_INFO instead of each row's count, so which ids are new cannot be told: taking none
          // would record sales as applied without subtracting their stock. Redo the inserts one by one instead.
          c.rollback();
          if (!batchCountsUnknown) {
            batchCountsUnknown = true;
            log.warn("{}: the JDBC driver gave no per-row counts for a batch insert into {} (rewriteBatchedStatements "
                + "or bulk statements in the JDBC URL?): sales are recorded one statement at a time from now on",
                name, options.appliedTable);
          }
          inserted = insertApplied(c, entries, false);
        }
        Map<String, Long> units = new LinkedHashMap<>();
        Set<String> ask = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
          StockEntry e = entries.get(i);
          ask.add(e.id());
          if (e.operation() == StockEntry.Operation.DECREMENT && inserted[i] > 0) {
            units.merge(e.item(), -e.amount(), Long::sum);
          }
        }
        if (!units.isEmpty()) {
          writer.add(c, units);
        }
        Map<String, String> outcomes = outcomes(c, ask);
        c.commit();
        return outcomes;
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      }
    }
  }

  /**
   * Records every entry's id in the applied table ({@code INSERT IGNORE}); the count of each is 1 for an id new to the
   * table, 0 for one it already had. {@code batched}: one JDBC batch (whose counts a driver may not report, see
   * {@link #everyCountExact}); otherwise one statement per entry, whose counts every driver reports.
   */
  private int[] insertApplied(Connection c, List<StockEntry> entries, boolean batched) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT IGNORE INTO " + options.appliedTable
        + " (op_id, outcome) VALUES (?, ?)")) {
      int[] counts = new int[entries.size()];
      for (int i = 0; i < entries.size(); i++) {
        StockEntry e = entries.get(i);
        ps.setString(1, e.id());
        ps.setString(2, e.operation() == StockEntry.Operation.DECREMENT ? APPLIED : RELEASED);
        if (batched) {
          ps.addBatch();
        } else {
          counts[i] = ps.executeUpdate();
        }
      }
      return batched ? ps.executeBatch() : counts;
    }
  }

  /** Whether a batch's counts say, for each row, whether it was inserted (0 or 1; not SUCCESS_NO_INFO). */
  static boolean everyCountExact(int[] counts) {
    for (int count : counts) {
      if (count != 0 && count != 1) {
        return false;
      }
    }
    return true;
  }

  private Map<String, String> outcomes(Connection c, Set<String> ids) throws SQLException {
    Map<String, String> outcomes = new HashMap<>();
    List<String> list = new ArrayList<>(ids);
    String marks = String.join(",", java.util.Collections.nCopies(list.size(), "?"));
    try (PreparedStatement ps = c.prepareStatement("SELECT op_id, outcome FROM " + options.appliedTable
        + " WHERE op_id IN (" + marks + ")")) {
      for (int i = 0; i < list.size(); i++) {
        ps.setString(i + 1, list.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          outcomes.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return outcomes;
  }

  /** Writes a RELEASE behind every reservation still pending past its deadline. */
  private void reapIfDue() {
    long now = System.nanoTime();
    if (now - lastReap < reapEveryNanos) {
      return;
    }
    lastReap = now;
    try {
      for (String item : fence.members(options.itemsKey())) {
        for (StockOrphan orphan : fence.stockOrphans(options.pendingKey(item), options.orphanAfter.toMillis())) {
          StockEntry release = new StockEntry(options.namespace, item, StockEntry.Operation.RELEASE, orphan.id(),
              orphan.amount(), null);
          releases.send(new ProducerRecord<>(options.topic, null, item, null, release.headers()))
              .get(options.sendTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
          fence.stockReaped(options.pendingKey(item), orphan.id());
          log.info("{}: reservation {} of {} x '{}' unsettled past its deadline; RELEASE written to the log", name,
              orphan.id(), orphan.amount(), item);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) { // Redis or Kafka down: the next round tries again
      log.warn("{}: reaping orphaned reservations failed, retrying later: {}", name, e.toString());
    }
  }

  @Override
  public void close() {
    loop.close(options.sendTimeout.plus(Duration.ofSeconds(5)));
  }
}
