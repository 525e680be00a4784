package dev.veracache.stack;

/** A Kafka broker given by {@code VERACACHE_KAFKA_BOOTSTRAP}: not started, its controls (and kill) throw. */
final class ExternalKafkaServer extends ExternalServer implements KafkaServer {

  private final StackConfig config;

  ExternalKafkaServer(StackConfig config) {
    super("Kafka at " + config.kafkaBootstrap);
    this.config = config;
  }

  @Override
  public String host() {
    return config.kafkaHost;
  }

  @Override
  public int port() {
    return config.kafkaPort;
  }

  @Override
  public String bootstrapServers() {
    return config.kafkaBootstrap;
  }

  @Override
  public void createTopic(String name, int partitions) {
    KafkaAdmin.createTopic(config.kafkaBootstrap, toString(), name, partitions);
  }

  @Override
  public void kill() {
    throw external("kill");
  }

  @Override
  public String toString() {
    return "external Kafka at " + config.kafkaBootstrap + " ("
        + (config.fromEnvironment ? "set by VERACACHE_KAFKA_BOOTSTRAP or veracache.kafka.bootstrap" : "StackConfig")
        + ")";
  }
}
