package dev.veracache.stack;

import java.util.List;

/**
 * A Kafka Connect worker that runs source connectors (Debezium's) against the stack's broker: the embedded one is
 * {@code org.apache.kafka.connect.cli.ConnectStandalone} in a child JVM, started by
 * {@link EmbeddedStack#kafkaConnect(List)}.
 *
 * <p>Records are written with Kafka Connect's {@code JsonConverter} for keys and values, schemas included, so a
 * consumer can turn them back into the {@code Struct}s the connector produced.
 */
public interface KafkaConnectWorker extends ServerControls {

  /** The worker's REST endpoint, e.g. {@code http://127.0.0.1:40123}. */
  String restUrl();

  /** The names of the connectors it runs, in the order given. */
  List<String> connectors();

  /**
   * SIGKILL: the worker dies without committing its latest source offsets; {@link #start()} resumes every connector
   * from the offsets it committed last (records after them are produced again: at least once).
   */
  void kill();
}
