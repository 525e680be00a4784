package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Quiescence's wait for the CDC listener ({@link ListenerCatchUp}, through {@link CdcInvalidatorControl#awaitCaughtUp})
 * against the real MariaDB binlog, Debezium and Redis: it returns once the listener applied every commit made before
 * it, whatever the listener's progress interval; it gives up after its timeout with a message naming the listener
 * when the listener cannot get there (held in this JVM, or paused in its own); and it fails at once, with the exit
 * code, when the listener's JVM is gone.
 */
@ExtendWith(EmbeddedStackExtension.class)
class ListenerCatchUpIT {

  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final AtomicInteger RUNS = new AtomicInteger();

  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  private EmbeddedStack stack;
  private Workload workload;
  private String namespace;
  private long serverId;
  private RedisCommands<String, String> redis;

  @BeforeEach
  void setUp(EmbeddedStack stack) throws Exception {
    this.stack = stack;
    int run = RUNS.incrementAndGet();
    Scenario scenario = ScenarioCatalog.parse(new ByteArrayInputStream("""
        scenarios:
          - {id: c, title: C, fault: NONE, keys: 3, strategies: [VERACACHE_CDC_ONLY]}
        """.getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
    String table = "lcu_" + ProcessHandle.current().pid() + "_" + run;
    workload = new Workload(stack.database(), table, scenario);
    closeables.push(() -> drop(stack.database(), table));
    namespace = "lcu" + ProcessHandle.current().pid() + "n" + run;
    serverId = 7800L + run;
    RedisClient client = RedisClient.create(stack.redis().uri());
    closeables.push(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    StatefulRedisConnection<String, String> connection = client.connect();
    closeables.push(connection);
    redis = connection.sync();
  }

  @AfterEach
  void tearDown() throws Exception {
    while (!closeables.isEmpty()) {
      closeables.pop().close();
    }
  }

  @Test
  void returnsOnceTheListenerHasAppliedEveryCommitMadeBeforeIt() throws Exception {
    // Progress published once an hour (as the CDC_NO_LOSS_CHECK baseline): the wait must not depend on it.
    CdcInvalidatorControl listener = listener(false, Duration.ofHours(1), CdcHooks.NONE);
    long version = commitNewVersion(1);

    listener.awaitCaughtUp(PATIENCE);

    assertThat(redis.get(namespace + ":k1")).as("k1's invalidation, applied before the wait returned")
        .startsWith("P:" + version + ":");
  }

  @Test
  void givesUpAfterItsTimeoutNamingTheListenerWhenTheListenerCannotReachTheHead() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CdcHooks holdTheMarker = new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        if (invalidations.stream().anyMatch(i -> i.key().startsWith(ListenerCatchUp.MARKER_PREFIX))) {
          try {
            release.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS); // the listener is stuck before the head
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    CdcInvalidatorControl listener = listener(false, null, holdTheMarker);
    closeables.push(release::countDown); // before the listener closes: never leave its engine thread held

    assertThatThrownBy(() -> listener.awaitCaughtUp(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("CDC listener " + listener.name() + " did not reach the binlog head within 2000 ms")
        .hasMessageContaining("marker " + ListenerCatchUp.MARKER_PREFIX)
        .hasMessageContaining("binlog at GTID ")
        .hasMessageContaining("listener: in this JVM");

    release.countDown();
    listener.awaitCaughtUp(PATIENCE); // released, it gets there
  }

  @Test
  void aListenerInItsOwnJvmIsWaitedForWhilePausedAndAJvmThatExitedFailsTheWaitAtOnce() throws Exception {
    CdcInvalidatorControl listener = listener(true, null, CdcHooks.NONE);

    listener.pause();
    try {
      assertThatThrownBy(() -> listener.awaitCaughtUp(Duration.ofSeconds(2)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("CDC listener " + listener.name() + " did not reach the binlog head")
          .hasMessageContaining("listener: its own JVM (pid ");
    } finally {
      listener.resume();
    }
    long version = commitNewVersion(2);
    listener.awaitCaughtUp(PATIENCE);
    assertThat(redis.get(namespace + ":k2")).startsWith("P:" + version + ":");

    // The child halts at its next batch with invalidations (R6's crash point); commits until it has.
    CompletableFuture<Void> crashed = CompletableFuture.runAsync(() -> listener.crashBeforeNextApply(PATIENCE),
        runnable -> new Thread(runnable, "lcu-crash").start());
    while (!crashed.isDone()) {
      commitNewVersion(0);
      TimeUnit.MILLISECONDS.sleep(50); // polling a condition: the child's exit
    }
    crashed.get();

    assertThatThrownBy(() -> listener.awaitCaughtUp(PATIENCE))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("CDC listener " + listener.name() + " stopped before it reached the binlog head")
        .hasMessageContaining("exited with code 137");
  }

  private CdcInvalidatorControl listener(boolean ownJvm, Duration progressInterval, CdcHooks hooks) {
    CdcInvalidatorControl listener = new CdcInvalidatorControl(stack, workload.table, namespace, false, serverId, ownJvm,
        false, progressInterval, false, hooks, false);
    closeables.push(listener);
    listener.start();
    return listener;
  }

  private long commitNewVersion(int row) throws Exception {
    try (Connection c = stack.database().connect()) {
      c.setAutoCommit(false);
      return workload.write(c, row, new Random(row), Workload.Intent.UPSERT).version();
    }
  }

  private static void drop(DatabaseServer db, String table) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_seq");
    }
  }
}
