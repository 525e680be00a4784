package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.veracache.cdc.testing.CdcHooks;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Hostile review of the split of the listener into one concept per class, on the embedded servers: a listener FAILED by its start-up thread.
 *
 * <p>Before the split a failure only ever came from a stopped engine, so {@code close()} skipped stopping the engine
 * when a failure was set. The split added failures that leave the engine running: {@code ReadinessProver} fails the
 * listener when a hook or its flush throws ({@code lifecycle.fail(e)}), while the Debezium engine streams on.
 * {@code EngineRunner.close()} still reads "failed" as "the engine has stopped" and neither drains nor closes it: the
 * close waits for the engine thread until the next batch (a Debezium heartbeat record, every
 * {@code heartbeatInterval}) or 30 s, logs that it is still running, and returns with the engine (its binlog
 * connection, server id and offset store) alive. A supervisor that closes a FAILED listener and starts a new one (the
 * sidecar does) then runs two engines of one name and server id.
 */
class RefactorReviewListenerIT extends ListenerFixture {

  @Test
  void closingAListenerFailedByItsStartUpThreadStopsItsEngine() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    closeables.push(() -> root.detachAppender(logs));
    CdcHooks refuseTheFlush = new CdcHooks() {
      @Override
      public void beforeFlush(List<String> namespaces) {
        throw new IllegalStateException("review: the start-up flush fails");
      }
    };
    CdcOptions options = options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build())
        // No Debezium heartbeat record during the test: only a drain (a marker row) or a close can end the polling
        // loop, as on a quiet database with a long heartbeat interval. (With the default 10 s the bug only shows as a
        // close that waits for the next heartbeat.)
        .heartbeatInterval(Duration.ofHours(1))
        .build(); // a first start: a flush is owed once the marker is back
    CdcInvalidator cdc = CdcInvalidator.start(options, refuseTheFlush);
    closeables.push(cdc);
    await().atMost(WITHIN).until(() -> cdc.status().state() == CdcInvalidator.State.FAILED);
    assertThat(cdc.failure()).hasMessageContaining("review: the start-up flush fails");
    String engineThread = "veracache-cdc-" + options.name();
    assertThat(threadAlive(engineThread)).as("the engine streams on after the start-up thread failed").isTrue();

    cdc.close();

    boolean aliveAfterClose = threadAlive(engineThread);
    if (aliveAfterClose) {
      // Leave no engine behind for the next tests (it would write offsets into a deleted state directory): a row
      // change brings a batch, which a closed listener ends the polling loop on.
      sql("INSERT INTO " + table + " (id, name, version) VALUES (1, 'n', 1)");
      await().atMost(WITHIN).until(() -> !threadAlive(engineThread));
    }
    assertThat(aliveAfterClose).as("close() stopped the engine").isFalse();
    assertThat(logs.list).as("close() did not have to give up on the engine thread")
        .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN)
            && e.getFormattedMessage().contains("engine thread still running"));
  }

  /**
   * A close that interrupts the start-up flush while its Redis call is in flight (Redis holds writes here with
   * {@code CLIENT PAUSE ... WRITE}, so the flush's UNLINK waits) is a clean close: RedisRetry says "the close cut it:
   * nothing to report" for every other Redis step, but {@code NamespaceFlush.flushAll} counts the interrupted call as a
   * refusal ({@code veracache.cdc.retries}) and logs "Redis did not flush namespace" at WARN.
   */
  @Test
  void aCloseDuringTheStartUpFlushIsNotReportedAsARedisRefusal() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    closeables.push(() -> root.detachAppender(logs));
    java.util.concurrent.CountDownLatch atFlush = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    CdcHooks holdTheFlush = new CdcHooks() {
      @Override
      public void beforeFlush(List<String> namespaces) {
        atFlush.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    CdcOptions options = options(InvalidationMappings.builder().table(qualified()).namespace(namespace).key("{id}")
        .version("version").add().build())
        .redis(dev.veracache.VeracacheOptions.builder(redis.uri()).commandTimeout(Duration.ofSeconds(30))
            .clientName("cdc").build())
        .build();
    redisCli.sync().set(namespace + ":1", "V:1:{}");
    CdcInvalidator cdc = CdcInvalidator.start(options, holdTheFlush);
    closeables.push(cdc);
    assertThat(atFlush.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("the start-up flush is next").isTrue();
    redisCli.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
        new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
        new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8).add("PAUSE").add(20_000)
            .add("WRITE"));
    io.micrometer.core.instrument.Counter retries;
    try {
      String prover = "veracache-cdc-prover-" + options.name();
      release.countDown();
      await().atMost(WITHIN).until(() -> inRedisCall(prover)); // the flush's UNLINK waits for the pause to end
      retries = registry.get("veracache.cdc.retries").counter(); // close() removes it from the registry
      cdc.close();
    } finally {
      redisCli.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT,
          new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
          new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8).add("UNPAUSE"));
    }

    assertThat(retries.count()).as("a close is not a Redis refusal").isZero();
    assertThat(logs.list).as("a clean close logs nothing above INFO about the flush it cut short")
        .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN)
            && e.getFormattedMessage().contains("did not flush namespace"));
  }

  /** The thread waits inside a Redis command of {@code RedisInvalidator.flushNamespace}. */
  private static boolean inRedisCall(String threadName) {
    for (var entry : Thread.getAllStackTraces().entrySet()) {
      if (!entry.getKey().getName().equals(threadName)) {
        continue;
      }
      List<String> frames = java.util.Arrays.stream(entry.getValue())
          .map(f -> f.getClassName() + "." + f.getMethodName()).toList();
      return frames.stream().anyMatch(f -> f.endsWith("RedisInvalidator.flushNamespace"))
          && frames.stream().anyMatch(f -> f.startsWith("io.lettuce.core.") && f.contains("await"))
          && frames.stream().anyMatch(f -> f.contains("unlink"));
    }
    return false;
  }

  private static boolean threadAlive(String name) {
    return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.isAlive() && t.getName().equals(name));
  }
}
