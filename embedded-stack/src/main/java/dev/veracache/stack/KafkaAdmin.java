package dev.veracache.stack;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * What the embedded and the external broker share, through an AdminClient: creating a topic idempotently and asking
 * whether the broker serves.
 */
final class KafkaAdmin {

  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

  private KafkaAdmin() {}

  static Admin open(String bootstrapServers, Duration callTimeout) {
    int ms = (int) callTimeout.toMillis();
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.CLIENT_ID_CONFIG, "veracache-stack-admin",
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(ms, 5000),
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms));
  }

  /** Whether the broker answers a describeCluster naming at least one node, within {@code timeout}. */
  static boolean serves(Admin admin, Duration timeout) {
    try {
      return !admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS).isEmpty();
    } catch (ExecutionException | TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** See {@link KafkaServer#createTopic}; {@code broker} names the broker in errors. */
  static void createTopic(String bootstrapServers, String broker, String name, int partitions) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("topic name must not be blank, was '" + name + "'");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("topic '" + name + "' needs at least 1 partition, was " + partitions);
    }
    try (Admin admin = open(bootstrapServers, CALL_TIMEOUT)) {
      try {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("cannot create topic '" + name + "' with " + partitions + " partitions on "
              + broker + ": " + e.getCause(), e.getCause());
        }
        int existing = describe(admin, broker, name).partitions().size();
        if (existing != partitions) {
          throw new IllegalStateException("topic '" + name + "' exists on " + broker + " with " + existing
              + " partitions, not the " + partitions + " asked for");
        }
      }
      awaitLeaders(admin, broker, name);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The broker knows a freshly created topic a moment after the controller does: wait until each partition leads. */
  private static void awaitLeaders(Admin admin, String broker, String name) throws InterruptedException {
    long deadline = System.nanoTime() + CALL_TIMEOUT.toNanos();
    while (true) {
      TopicDescription topic = null;
      try {
        topic = describe(admin, broker, name);
      } catch (IllegalStateException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
          throw e;
        }
      }
      if (topic != null && topic.partitions().stream().map(TopicPartitionInfo::leader).allMatch(l -> l != null
          && !l.isEmpty())) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("topic '" + name + "' on " + broker + " has partitions without a leader after "
            + CALL_TIMEOUT.toSeconds() + " s: " + topic);
      }
      Thread.sleep(20); // polling a condition (leaders elected), not waiting for a race
    }
  }

  private static TopicDescription describe(Admin admin, String broker, String name) throws InterruptedException {
    try {
      return admin.describeTopics(Set.of(name)).allTopicNames().get().get(name);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot describe topic '" + name + "' on " + broker + ": " + e.getCause(),
          e.getCause());
    }
  }
}
