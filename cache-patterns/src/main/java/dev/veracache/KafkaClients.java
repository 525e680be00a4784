package dev.veracache;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The Kafka client settings write-behind uses, in one place: the user's properties first, then the ones its
 * guarantees rest on. Also the start-up check that the cluster answers and the topics exist, so a wrong bootstrap
 * address or topic fails at once with a message naming it, not at the first put.
 */
final class KafkaClients {

  private KafkaClients() {}

  static Properties base(LogSettings log) {
    Properties p = new Properties();
    p.putAll(log.kafkaProperties());
    p.put("bootstrap.servers", log.bootstrapServers());
    return p;
  }

  /** A producer whose acknowledgement means the record is in the log: {@code acks=all}, idempotent. */
  static Properties producer(LogSettings log) {
    Properties p = base(log);
    int timeout = (int) log.sendTimeout().toMillis();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
    p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(timeout / 2, 30_000));
    p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
    return p;
  }

  /**
   * Checks that the cluster answers within the start-up timeout and that every topic exists; returns the partition count
   * of the first.
   *
   * @throws WriteBehindException naming the cache, the bootstrap servers and the topic
   */
  static int checkTopics(LogSettings log, List<String> topics) {
    String owner = log.owner();
    Properties p = base(log);
    long timeoutMillis = log.startupTimeout().toMillis();
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeoutMillis);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeoutMillis, 30_000));
    try (Admin admin = Admin.create(p)) {
      Map<String, TopicDescription> found = admin.describeTopics(topics).allTopicNames()
          .get(timeoutMillis, TimeUnit.MILLISECONDS);
      return found.get(topics.get(0)).partitions().size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        throw new WriteBehindException(owner + ": a topic of " + topics + " does not exist on Kafka at "
            + log.bootstrapServers() + " (" + e.getCause().getMessage() + "); create it before starting", e.getCause());
      }
      if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
        // The admin client's own deadline (the same start-up timeout) came first: the same failure, the same words.
        throw notAnswered(owner, log, timeoutMillis, e.getCause());
      }
      throw new WriteBehindException(owner + ": cannot describe topics " + topics + " on Kafka at "
          + log.bootstrapServers() + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw notAnswered(owner, log, timeoutMillis, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WriteBehindException(owner + ": interrupted while checking Kafka at " + log.bootstrapServers(), e);
    } catch (org.apache.kafka.common.KafkaException e) {
      throw new WriteBehindException(owner + ": cannot create a Kafka client for " + log.bootstrapServers() + ": "
          + e.getMessage(), e);
    }
  }

  private static WriteBehindException notAnswered(String owner, LogSettings log, long timeoutMillis, Throwable cause) {
    return new WriteBehindException(owner + ": Kafka at " + log.bootstrapServers() + " did not answer within "
        + Duration.ofMillis(timeoutMillis) + " (is the broker up, the address right?)", cause);
  }
}
