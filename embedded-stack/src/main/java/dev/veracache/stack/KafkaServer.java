package dev.veracache.stack;

/**
 * A Kafka broker: the embedded one (a KRaft broker and controller in one child JVM, {@code kafka.Kafka} from this
 * classpath, no ZooKeeper) or an external one named by {@code VERACACHE_KAFKA_BOOTSTRAP}. Topics are not created
 * automatically ({@code auto.create.topics.enable=false} on the embedded broker): whoever uses a topic creates it with
 * {@link #createTopic}, so a misspelt topic is a clear "unknown topic" error rather than a new empty topic.
 */
public interface KafkaServer extends ServerControls {

  String host();

  int port();

  /** {@code host:port} for {@code bootstrap.servers}, e.g. {@code 127.0.0.1:40123}. */
  String bootstrapServers();

  /**
   * Creates the topic with this many partitions (replication factor 1 on the embedded broker) and waits until every
   * partition has a leader. Idempotent: an existing topic with the same partition count is fine.
   *
   * @throws IllegalArgumentException for a blank name or a partition count below 1
   * @throws IllegalStateException if the topic exists with another partition count (naming the topic and both
   *     counts), or the broker refuses or does not answer (naming the broker)
   */
  void createTopic(String name, int partitions);

  /**
   * SIGKILL: the broker dies without a clean shutdown (no controlled shutdown, no final flush, no clean-shutdown
   * marker); {@link #start()} then recovers its log from the same directory, on the same port. Data acknowledged with
   * {@code acks=all} survives (it is in the OS page cache; the machine does not crash).
   *
   * @throws UnsupportedOperationException for an external broker
   */
  void kill();
}
