package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Closing the listener is an ordinary, clean operation, even while writes flow: nothing is logged at ERROR (no
 * Debezium stack trace about a rejected task), and a new listener of the same name starts from where it stopped.
 */
class QuietCloseIT extends ListenerFixture {

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void createTableAndListenToEveryLogger() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
    closeables.push(() -> root.detachAppender(logs));
  }

  private CdcOptions listenerOptions() {
    return options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build()).build();
  }

  @Test
  void closingTheListenerWhileWritesFlowLogsNoErrorAndARestartCarriesOn() throws Exception {
    CdcInvalidator first = CdcInvalidator.start(listenerOptions(), recording);
    closeables.push(first); // closed by the test itself; this only covers a failure before that
    assertThat(first.awaitLive(Duration.ofSeconds(60))).as("listener live").isTrue();

    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong written = new AtomicLong();
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      try (Connection c = db.connect(); PreparedStatement insert = c.prepareStatement(
          "INSERT INTO " + table + " (id, name, version) VALUES (?, 'n', 1)")) {
        for (long id = 1; writing.get(); id++) {
          insert.setLong(1, id);
          insert.executeUpdate();
          written.set(id);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try {
      // Writes are flowing and the listener is applying them when it is closed.
      await().atMost(WITHIN).until(() -> emitted.size() >= 20);
      first.close();
      assertThat(writer).as("the writer kept writing through the close").isNotDone();
    } finally {
      writing.set(false);
      writer.join();
    }

    List<String> errors = logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
        .map(QuietCloseIT::describe).toList();
    assertThat(errors).as("ERROR lines logged by a clean close").isEmpty();

    // The close was real: a new listener of the same name starts from the stored position and misses nothing.
    CdcInvalidator second = startListener(listenerOptions(), recording);
    long last = written.get();
    await().atMost(WITHIN).until(() -> !emittedFor(Long.toString(last)).isEmpty());
    assertThat(second.failure()).isNull();
  }

  private static String describe(ILoggingEvent event) {
    StringBuilder text = new StringBuilder(event.getLoggerName() + ": " + event.getFormattedMessage());
    for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
      text.append(" / ").append(t.getClassName()).append(": ").append(t.getMessage());
    }
    return text.toString();
  }
}
