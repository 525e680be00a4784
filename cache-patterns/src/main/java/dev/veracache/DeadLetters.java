package dev.veracache;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The dead-letter topic of a log: a record that can never be applied is copied there (key, value and headers) with
 * two more headers, the error ({@value LogEntry#ERROR_HEADER}) and where it came from ({@value LogEntry#SOURCE_HEADER},
 * {@code topic-partition@offset}). A send is acknowledged ({@code acks=all}) before the batch's offsets are committed,
 * so a record is never dropped on the way.
 */
final class DeadLetters implements AutoCloseable {

  /** A record of the log that can never be applied; {@code key} is its cache key text, if it has one. */
  record Poison(ConsumerRecord<String, byte[]> record, String key, Throwable error) {
    String where() {
      return record.topic() + "-" + record.partition() + "@" + record.offset();
    }
  }

  private static final int MAX_ERROR_HEADER_CHARS = 2000;

  final String topic;
  private final long sendTimeoutMillis;
  private final KafkaProducer<String, byte[]> producer;

  DeadLetters(LogSettings log, String topic) {
    this.topic = topic;
    this.sendTimeoutMillis = log.sendTimeout().toMillis();
    this.producer = new KafkaProducer<>(KafkaClients.producer(log), new StringSerializer(),
        new ByteArraySerializer());
  }

  /** Sends every poison and waits for the acknowledgements. */
  void send(List<Poison> poisons) throws RetryLater {
    for (Poison poison : poisons) {
      ConsumerRecord<String, byte[]> r = poison.record;
      RecordHeaders headers = new RecordHeaders(r.headers().toArray());
      headers.add(LogEntry.ERROR_HEADER, truncate(describe(poison.error)).getBytes(StandardCharsets.UTF_8));
      headers.add(LogEntry.SOURCE_HEADER, poison.where().getBytes(StandardCharsets.UTF_8));
      try {
        producer.send(new ProducerRecord<>(topic, null, r.key(), r.value(), headers))
            .get(sendTimeoutMillis, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RetryLater("interrupted while dead-lettering " + poison.where(), e);
      } catch (Exception e) {
        throw new RetryLater("cannot dead-letter " + poison.where() + " to " + topic + ": " + e, e);
      }
    }
  }

  /**
   * True for an error that a record causes (it would fail again and again): a data exception (SQLState class 22), an
   * integrity constraint violation (23), or anything not an SQLException (the writer refused a value). The rest (a
   * connection lost, a lock timeout, a missing table or grant) is the database's state: retried.
   */
  static boolean marksBadRecord(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        String state = sql.getSQLState();
        return state != null && (state.startsWith("22") || state.startsWith("23"));
      }
    }
    return true;
  }

  static String describe(Throwable e) {
    if (e instanceof SQLException sql) {
      return e.getClass().getSimpleName() + " (SQLState " + sql.getSQLState() + "): " + e.getMessage();
    }
    return e.toString();
  }

  private static String truncate(String s) {
    return s.length() <= MAX_ERROR_HEADER_CHARS ? s : s.substring(0, MAX_ERROR_HEADER_CHARS) + "...";
  }

  @Override
  public void close() {
    producer.close(java.time.Duration.ofSeconds(5));
  }
}
