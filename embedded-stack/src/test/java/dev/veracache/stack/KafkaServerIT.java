package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The embedded Kafka broker: a child JVM whose log survives stop/start and SIGKILL, with the usual fault controls. */
@ExtendWith(EmbeddedStackExtension.class)
class KafkaServerIT {

  @Test
  void acknowledgedRecordsSurviveAStopStartAndASigkillFollowedByHealing(EmbeddedStack stack, KafkaServer kafka)
      throws Exception {
    kafka.createTopic("survives", 1);
    int port = kafka.port();
    long pidBefore = kafka.pid();
    send(kafka, "survives", range("a", 50));

    kafka.stop();
    assertThat(ProcessControl.alive(pidBefore)).as("the broker process is gone after stop").isFalse();
    kafka.start();
    assertThat(kafka.port()).isEqualTo(port);
    assertThat(kafka.pid()).isNotEqualTo(pidBefore);
    assertThat(readAll(kafka, "survives", 50)).containsExactlyElementsOf(range("a", 50));

    send(kafka, "survives", range("b", 50));
    long pidKilled = kafka.pid();
    kafka.kill(); // SIGKILL: no controlled shutdown, no clean-shutdown marker
    assertThat(ProcessControl.alive(pidKilled)).isFalse();
    assertThat(kafka.isRunning()).isFalse();
    EmbeddedStackExtension.heal(stack); // what runs before the next test: starts the killed broker (log recovery)
    assertThat(kafka.isRunning()).isTrue();
    List<String> expected = new ArrayList<>(range("a", 50));
    expected.addAll(range("b", 50));
    assertThat(readAll(kafka, "survives", 100)).containsExactlyElementsOf(expected);
  }

  @Test
  void aPausedBrokerFailsASendWithinItsDeliveryTimeoutAndServesAgainAfterResume(KafkaServer kafka) throws Exception {
    kafka.createTopic("paused", 1);
    try (KafkaProducer<String, String> producer = producer(kafka, Map.of(
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 1500, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 1000,
        ProducerConfig.MAX_BLOCK_MS_CONFIG, 1500))) {
      producer.send(new ProducerRecord<>("paused", "before")).get(); // metadata known: the next send only waits on I/O
      kafka.pause();
      try {
        assertThatThrownBy(() -> producer.send(new ProducerRecord<>("paused", "during")).get())
            .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
      } finally {
        kafka.resume();
      }
      assertThat(kafka.isPaused()).isFalse();
      producer.send(new ProducerRecord<>("paused", "after")).get();
    }
    // A send that timed out has an unknown outcome: the paused broker may have read it from its socket after resume.
    assertThat(read(kafka, "paused", values -> values.contains("after"))).containsSubsequence("before", "after");
  }

  @Test
  void createTopicIsIdempotentAndAConflictingPartitionCountNamesTheTopicAndBothCounts(KafkaServer kafka)
      throws Exception {
    kafka.createTopic("two-partitions", 2);
    kafka.createTopic("two-partitions", 2);
    assertThatThrownBy(() -> kafka.createTopic("two-partitions", 3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'two-partitions'").hasMessageContaining("with 2 partitions")
        .hasMessageContaining("not the 3 asked for");
    assertThatThrownBy(() -> kafka.createTopic("none", 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'none'").hasMessageContaining("0");
    // auto.create.topics.enable=false: a topic nobody created is an error, not a new topic
    try (KafkaProducer<String, String> producer = producer(kafka, Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000))) {
      assertThatThrownBy(() -> producer.send(new ProducerRecord<>("never-created", "x")).get())
          .hasMessageContaining("never-created");
    }
  }

  @Test
  void kafkaBootstrapSettingMakesAnExternalBrokerWhoseControlsRefuse(KafkaServer embedded) throws Exception {
    System.setProperty(StackConfig.KAFKA_BOOTSTRAP_PROPERTY, embedded.bootstrapServers());
    StackConfig config;
    try {
      config = StackConfig.fromEnvironment();
    } finally {
      System.clearProperty(StackConfig.KAFKA_BOOTSTRAP_PROPERTY);
    }
    assertThat(config.externalKafka()).isTrue();
    // Database and Redis external too (never contacted), so that only the broker under test is involved.
    StackConfig external = StackConfig.builder().externalDatabase("jdbc:mysql://127.0.0.1:1/unused", "root", "")
        .externalRedis("redis://127.0.0.1:1").externalKafka(config.kafkaBootstrap).build();
    try (EmbeddedStack stack = EmbeddedStack.start(external)) {
      KafkaServer kafka = stack.kafka();
      assertThat(kafka.controllable()).isFalse();
      assertThat(kafka.pid()).isEqualTo(-1);
      assertThat(kafka.bootstrapServers()).isEqualTo(embedded.bootstrapServers());
      assertThat(kafka.port()).isEqualTo(embedded.port());
      assertThat(kafka.toString()).startsWith("external Kafka at " + embedded.bootstrapServers());
      assertThatThrownBy(kafka::kill).isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining(embedded.bootstrapServers()).hasMessageContaining("external");
      assertThatThrownBy(kafka::stop).isInstanceOf(UnsupportedOperationException.class);

      kafka.createTopic("via-external", 1);
      send(kafka, "via-external", List.of("x"));
    }
    assertThat(embedded.isRunning()).as("closing the other stack left the embedded broker alone").isTrue();
    assertThat(readAll(embedded, "via-external", 1)).containsExactly("x");
  }

  private static List<String> range(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  private static KafkaProducer<String, String> producer(KafkaServer kafka, Map<String, Object> extra) {
    Map<String, Object> config = new java.util.HashMap<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 0));
    config.putAll(extra);
    return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
  }

  /** Sends each value with acks=all and waits for every acknowledgement. */
  private static void send(KafkaServer kafka, String topic, List<String> values) throws Exception {
    try (KafkaProducer<String, String> producer = producer(kafka, Map.of())) {
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (String value : values) {
        acks.add(producer.send(new ProducerRecord<>(topic, value)));
      }
      for (var ack : acks) {
        ack.get();
      }
    }
  }

  /** Reads partition 0 from the beginning until {@code expected} values arrived (or 30 s passed). */
  private static List<String> readAll(KafkaServer kafka, String topic, int expected) {
    return read(kafka, topic, values -> values.size() >= expected);
  }

  /** Reads partition 0 from the beginning until the values read are {@code enough} (or 30 s passed). */
  private static List<String> read(KafkaServer kafka, String topic, Predicate<List<String>> enough) {
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new StringDeserializer(), new StringDeserializer())) {
      TopicPartition partition = new TopicPartition(topic, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!enough.test(values) && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(record.value());
        }
      }
    }
    return values;
  }
}
