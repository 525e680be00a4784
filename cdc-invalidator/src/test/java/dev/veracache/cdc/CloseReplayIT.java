package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Hostile review of the quiet close (the polling loop ends itself with StopEngineException): a batch the close cuts
 * short is not acknowledged, so the next start applies it; rows written while writes flow through a close are all
 * invalidated after a restart; a close before the listener is live still ends the engine by itself.
 */
class CloseReplayIT extends ListenerFixture {

  @BeforeEach
  void createTable() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
  }

  private CdcOptions listenerOptions() {
    return options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build()).build();
  }

  private void insert(long id) throws Exception {
    sql("INSERT INTO " + table + " (id, name, version) VALUES (" + id + ", 'n', 1)");
  }

  @Test
  void aBatchCutShortByTheCloseIsNotAcknowledgedAndTheNextStartInvalidatesIt() throws Exception {
    CountDownLatch trapped = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean sprung = new AtomicBoolean();
    CdcHooks trap = new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        emitted.addAll(invalidations);
        if (invalidations.stream().anyMatch(i -> i.key().equals("3")) && sprung.compareAndSet(false, true)) {
          trapped.countDown();
          awaitLatch(release);
        }
      }
    };
    CdcInvalidator first = startListener(listenerOptions(), trap);
    insert(1);
    insert(2);
    await().atMost(WITHIN).until(() -> tombstoned("1", 1) && tombstoned("2", 1));

    insert(3); // its batch is received and held just before it is applied
    assertThat(trapped.await(WITHIN.toSeconds(), TimeUnit.SECONDS)).as("batch of row 3 received").isTrue();
    CompletableFuture<Void> closing = CompletableFuture.runAsync(first::close);
    await().atMost(WITHIN).until(() -> first.status().state() == CdcInvalidator.State.CLOSED);
    release.countDown(); // the close has begun: the held batch must not be applied, nor acknowledged
    closing.get(60, TimeUnit.SECONDS);
    assertThat(tombstoned("3", 1)).as("row 3 applied by the closed listener").isFalse();

    insert(4); // while no listener runs
    startListener(listenerOptions(), recording);
    await().atMost(WITHIN).until(() -> tombstoned("3", 1) && tombstoned("4", 1));
  }

  @Test
  void everyRowWrittenWhileWritesFlowThroughACloseIsInvalidatedAfterARestart() throws Exception {
    CdcInvalidator first = startListener(listenerOptions(), recording);
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
      await().atMost(WITHIN).until(() -> emitted.size() >= 50);
      first.close();
      long atClose = written.get();
      await().atMost(WITHIN).until(() -> written.get() >= atClose + 50); // and more while no listener runs
    } finally {
      writing.set(false);
      writer.join();
    }
    long last = written.get();

    startListener(listenerOptions(), recording);
    await().atMost(WITHIN).until(() -> tombstoned(Long.toString(last), 1));
    List<Long> missing = new ArrayList<>();
    for (long id = 1; id <= last; id++) {
      if (!tombstoned(Long.toString(id), 1)) {
        missing.add(id);
      }
    }
    assertThat(missing).as("rows of " + last + " whose key was never invalidated").isEmpty();
  }

  @Test
  void aCloseBeforeTheListenerIsLiveStillEndsTheEngineByItself() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    Logger logger = (Logger) LoggerFactory.getLogger(CdcInvalidator.class);
    logs.start();
    logger.addAppender(logs);
    closeables.push(() -> logger.detachAppender(logs));

    // A first start (no stored position): the close marker is written before Debezium has read where the binlog
    // stands, so that one row never comes back; the engine must still end its polling loop by itself.
    CdcInvalidator cdc = CdcInvalidator.start(listenerOptions(), recording);
    closeables.push(cdc);
    cdc.close();

    List<String> forced = logs.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains("did not stop by itself")).toList();
    assertThat(forced).as("the engine was closed under its polling loop").isEmpty();
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
