package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * How an engine that stopped by itself is told to be on a purged position (its policy then decides) rather than
 * failed, without servers: Debezium's words and MariaDB's, in the engine's message or anywhere in the cause chain.
 */
class PurgedPositionMessagesTest {

  static Stream<Arguments> stops() {
    return Stream.of(
        Arguments.of("Debezium's message", "The connector is trying to read binlog starting at ..., but this is no "
            + "longer available on the server. Reconfigure the connector to use a snapshot when needed.", null, true),
        Arguments.of("MariaDB's GTID error two causes deep", "Error while running the connector",
            new RuntimeException("task failed", new IllegalStateException("Could not find GTID state requested by "
                + "slave in any binlog files. Probably the slave state is too old")), true),
        Arguments.of("a connection refused", "Error while running the connector",
            new RuntimeException("Communications link failure: Connection refused"), false),
        Arguments.of("no message at all", null, null, false));
  }

  @ParameterizedTest(name = "{0}: purged = {3}")
  @MethodSource("stops")
  void aStopIsAPurgedPositionOnlyWhenDebeziumOrMariaDbSaysSo(String what, String message, Throwable error,
      boolean purged) {
    assertThat(StartingPosition.isPurgedPosition(message, error)).isEqualTo(purged);
  }
}
