package dev.veracache.spring.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Only Debezium's interrupted work, and only once the listener is stopping, is kept out of the log. */
class ShutdownInterruptFilterTest {

  private final LoggerContext context = new LoggerContext();
  private final ShutdownInterruptFilter filter = new ShutdownInterruptFilter();
  private final CdcLifecycleCallbacks listener = ShutdownInterruptFilter.callbacks();

  @BeforeEach
  @AfterEach
  void notStopping() {
    listener.starting(); // the flag is per JVM: another test's application may have stopped
  }

  @Test
  void anInterruptedSnapshotIsQuietOnlyWhileStopping() {
    Exception interrupted = new RuntimeException("snapshot", new InterruptedException("closing"));
    var debezium = context.getLogger("io.debezium.relational.RelationalSnapshotChangeEventSource");

    assertThat(filter.decide(null, debezium, Level.ERROR, "Error during snapshot", null, interrupted))
        .as("before the stop: a real failure").isEqualTo(FilterReply.NEUTRAL);
    listener.stopping();
    assertThat(filter.decide(null, debezium, Level.ERROR, "Error during snapshot", null, interrupted))
        .isEqualTo(FilterReply.DENY);
    assertThat(filter.decide(null, debezium, Level.WARN, "interrupted", new Object[] {interrupted}, null))
        .isEqualTo(FilterReply.DENY);
    assertThat(filter.decide(null, debezium, Level.ERROR, "other", null, new IllegalStateException("boom")))
        .as("another failure while stopping").isEqualTo(FilterReply.NEUTRAL);
    assertThat(filter.decide(null, context.getLogger("dev.veracache.cdc.CdcInvalidator"), Level.ERROR, "x", null,
        interrupted)).as("our own errors").isEqualTo(FilterReply.NEUTRAL);
  }
}
