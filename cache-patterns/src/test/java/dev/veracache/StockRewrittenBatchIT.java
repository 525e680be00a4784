package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Hostile review of the StockFlusher's batch-count fallback (a batch whose counts are SUCCESS_NO_INFO is rolled back
 * and redone one statement at a time): replays, duplicates inside one batch, a DECREMENT and its RELEASE in one batch,
 * all through Connector/J with {@code rewriteBatchedStatements=true}; and the driver behaviour the fallback relies on
 * (a rewritten batch never answers counts that look exact but are not).
 */
class StockRewrittenBatchIT extends StockTest {

  private javax.sql.DataSource rewriting() {
    com.mysql.cj.jdbc.MysqlDataSource ds = new com.mysql.cj.jdbc.MysqlDataSource();
    ds.setURL(db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "rewriteBatchedStatements=true");
    ds.setUser(db.user());
    ds.setPassword(db.password());
    return ds;
  }

  /**
   * The premise of {@code everyCountExact}: a count of 0 or 1 from a batch means that row's own result. Probed on
   * Connector/J's rewritten {@code INSERT IGNORE} batches of 1 to 6 rows, each mixing ids already there and new ones
   * (and a duplicate inside the batch): each count is either the row's own (1 new, 0 already there) or outside {0, 1}.
   */
  @Test
  void aRewrittenInsertIgnoreBatchNeverAnswersCountsThatLookExactButAreNot() throws Exception {
    try (Connection c = rewriting().getConnection(); Statement s = c.createStatement()) {
      for (int size = 1; size <= 6; size++) {
        for (int mask = 0; mask < (1 << size); mask++) {
          s.execute("DELETE FROM " + stock.appliedTable);
          List<Boolean> existing = new ArrayList<>();
          List<String> ids = new ArrayList<>();
          for (int i = 0; i < size; i++) {
            boolean there = (mask & (1 << i)) != 0;
            String id = "m" + mask + "-" + i;
            if (there) {
              s.execute("INSERT INTO " + stock.appliedTable + " (op_id, outcome) VALUES ('" + id + "', 'APPLIED')");
            }
            existing.add(there);
            ids.add(id);
          }
          if (size >= 2) { // the last row repeats the first one's id: new to the table, but not to the batch
            ids.set(size - 1, ids.get(0));
            existing.set(size - 1, true);
          }
          int[] counts;
          c.setAutoCommit(false);
          try (PreparedStatement ps = c.prepareStatement("INSERT IGNORE INTO " + stock.appliedTable
              + " (op_id, outcome) VALUES (?, ?)")) {
            for (String id : ids) {
              ps.setString(1, id);
              ps.setString(2, "APPLIED");
              ps.addBatch();
            }
            counts = ps.executeBatch();
          } finally {
            c.rollback();
            c.setAutoCommit(true);
          }
          if (StockFlusher.everyCountExact(counts)) {
            for (int i = 0; i < size; i++) {
              assertThat(counts[i]).as("row %s of a batch of %s (already there: %s), counts %s", i, size,
                  existing, java.util.Arrays.toString(counts)).isEqualTo(existing.get(i) ? 0 : 1);
            }
          }
        }
      }
    }
  }

  /**
   * One poll's batch through a rewriting driver: a sale already applied (a flusher that died after its commit), a new
   * sale, that new sale's record again (a producer retry), a sale and its RELEASE, a RELEASE before its sale. Exactly
   * the two new, unreleased sales subtract stock, and each id gets the outcome of its first record.
   */
  @Test
  void aRewritingDriverAppliesReplaysDuplicatesAndReleasesOfOneBatchExactlyOnce() throws Exception {
    stock.put(ITEM, 10);
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("INSERT INTO " + stock.appliedTable + " (op_id, outcome) VALUES ('applied-before', 'APPLIED')");
    }
    stock.put(ITEM, 9); // the earlier flusher's commit: the id and its unit together
    List<StockEntry> log = List.of(
        entry(StockEntry.Operation.DECREMENT, "applied-before"),
        entry(StockEntry.Operation.DECREMENT, "new-sale"),
        entry(StockEntry.Operation.DECREMENT, "new-sale"),
        entry(StockEntry.Operation.DECREMENT, "sold-then-released"),
        entry(StockEntry.Operation.RELEASE, "sold-then-released"),
        entry(StockEntry.Operation.RELEASE, "released-first"),
        entry(StockEntry.Operation.DECREMENT, "released-first"));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
        new ByteArraySerializer())) {
      for (StockEntry e : log) { // all keyed by the item: one partition, in this order
        producer.send(new ProducerRecord<>(topic, null, ITEM, null, e.headers())).get();
      }
    }
    newInstance().stockFlusher(options().build(), FlusherOptions.builder("stock-" + namespace)
        .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).build(), rewriting(), stock.writer);
    await().atMost(SETTLED).until(() -> stock.outcomes().size() == 4);
    assertThat(stock.outcomes()).containsEntry("applied-before", "APPLIED").containsEntry("new-sale", "APPLIED")
        .containsEntry("sold-then-released", "APPLIED").containsEntry("released-first", "RELEASED");
    assertThat(stock.quantity(ITEM)).as("10 units, 3 sales applied once each (one before, two now)").isEqualTo(7);
  }

  private StockEntry entry(StockEntry.Operation operation, String id) {
    return new StockEntry(namespace, ITEM, operation, id, 1, null);
  }
}
