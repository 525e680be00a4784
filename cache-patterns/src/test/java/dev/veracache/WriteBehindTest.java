package dev.veracache;

import dev.veracache.stack.KafkaServer;
import dev.veracache.testing.FlusherHooks;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the write-behind tests: the embedded MariaDB, Redis and Kafka broker, a topic and dead-letter topic per test
 * (three partitions), and a {@link ProductLog} table with its versioned writer.
 */
abstract class WriteBehindTest extends RealServersTest {

  static final int PARTITIONS = 3;

  KafkaServer kafka;
  String topic;
  ProductLog rows;

  @BeforeEach
  void startKafkaFixture(KafkaServer kafka) throws SQLException {
    this.kafka = kafka;
    this.topic = "wb-" + namespace;
    kafka.createTopic(topic, PARTITIONS);
    kafka.createTopic(topic + FlusherOptions.DEFAULT_DEAD_LETTER_SUFFIX, 1);
    this.rows = new ProductLog(db, "wb_" + namespace);
  }

  WriteBehindOptions.Builder<Long, Product> writeBehindOptions() {
    return WriteBehindOptions.builder(productOptions().build(), kafka.bootstrapServers(), topic)
        .keyDecoder(Long::valueOf).sendTimeout(Duration.ofSeconds(3));
  }

  WriteBehindCache<Long, Product> writeBehind(Veracache client) {
    return client.writeBehind(writeBehindOptions().build(), rows::find);
  }

  WriteBehindFlusher<Long, Product> flusher(Veracache client) {
    return flusher(client, FlusherHooks.NONE, rows.writer);
  }

  WriteBehindFlusher<Long, Product> flusher(Veracache client, FlusherHooks hooks,
      WriteBehindWriter<Long, Product> writer) {
    return client.writeBehindFlusher(writeBehindOptions().build(), FlusherOptions.builder("flush-" + namespace)
        .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).hooks(hooks).build(), rows.dataSource(), writer);
  }

  static Product product(long id, String name) {
    return new Product(id, name, 0);
  }

  /** Every record of a topic from the beginning, read until {@code expected} are in (at most 20 s). */
  List<ConsumerRecord<String, byte[]>> readTopic(String name, int expected) {
    return readTopic(name, expected, Duration.ofSeconds(20));
  }

  /** The same, reading for at most {@code wait}. */
  List<ConsumerRecord<String, byte[]>> readTopic(String name, int expected, Duration wait) {
    Properties p = new Properties();
    p.put("bootstrap.servers", kafka.bootstrapServers());
    p.put("group.id", "reader-" + name + "-" + System.nanoTime());
    p.put("auto.offset.reset", "earliest");
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
        new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(name));
      long deadline = System.nanoTime() + wait.toNanos();
      while (records.size() < expected && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    return records;
  }
}
