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

  /** The names of the connectors it runs, in the order given or added. */
  List<String> connectors();

  /**
   * Adds a connector (its configuration as one would POST it, {@code name} included) through the REST API and waits
   * until it and its tasks are RUNNING. It runs again after a restart of the worker.
   *
   * @throws IllegalArgumentException without {@code name} or {@code connector.class}, or for a name already running
   * @throws IllegalStateException if the worker refuses it or it does not reach RUNNING (naming the worker's log)
   */
  void addConnector(java.util.Map<String, String> config);

  /** Deletes the connector (its stored offsets stay in the worker's offset file). */
  void removeConnector(String name);

  /**
   * SIGKILL: the worker dies without committing its latest source offsets; {@link #start()} resumes every connector
   * from the offsets it committed last (records after them are produced again: at least once).
   */
  void kill();
}
