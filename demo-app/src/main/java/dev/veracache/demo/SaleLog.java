package dev.veracache.demo;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flash sale's Kafka topics, created at start in both modes (idempotent: an existing topic is kept): the log and
 * its dead-letter topic ({@code <topic>.dlt}, where the flusher puts sales the database refuses).
 *
 * @param topic the log
 */
public record SaleLog(String topic) {

  private static final Logger log = LoggerFactory.getLogger(SaleLog.class);

  static SaleLog create(DemoProperties demo) {
    String topic = demo.sale().topic();
    String bootstrap = demo.kafka().bootstrapServers();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000))) {
      for (String name : List.of(topic, topic + ".dlt")) {
        try {
          admin.createTopics(List.of(new NewTopic(name, Optional.of(demo.sale().partitions()), Optional.empty())))
              .all().get(30, TimeUnit.SECONDS);
          log.info("Kafka topic {} created ({} partitions) on {}", name, demo.sale().partitions(), bootstrap);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException("cannot create the Kafka topic " + name + " on " + bootstrap + " ("
                + DemoProperties.KAFKA_BOOTSTRAP_SERVERS + "): " + e.getCause(), e.getCause());
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating the Kafka topic " + topic, e);
    } catch (TimeoutException e) {
      throw new IllegalStateException("Kafka at " + bootstrap + " (" + DemoProperties.KAFKA_BOOTSTRAP_SERVERS
          + ") did not create the topic " + topic + " within 30 s", e);
    }
    return new SaleLog(topic);
  }
}
