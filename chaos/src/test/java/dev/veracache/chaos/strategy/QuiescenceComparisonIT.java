package dev.veracache.chaos.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.chaos.check.QuiescenceComparison;
import dev.veracache.chaos.fault.TcpProxy;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RaceInjection;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.chaos.workload.WriteSignals;
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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The end-of-run comparison ({@link QuiescenceComparison}) against the real MariaDB and Redis, with real Veracache
 * instances: each instance's L1 is looked at directly (an entry the instance no longer serves, and that Redis no
 * longer has, is still counted), and a level that cannot be read fails the comparison, naming the key and the level.
 */
@ExtendWith(EmbeddedStackExtension.class)
class QuiescenceComparisonIT {

  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final AtomicInteger RUNS = new AtomicInteger();

  private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
  private EmbeddedStack stack;
  private Workload workload;
  private RunContext context;
  private String namespace;
  private RedisCommands<String, String> redis;

  @BeforeEach
  void setUp(EmbeddedStack stack) throws Exception {
    this.stack = stack;
    int run = RUNS.incrementAndGet();
    Scenario scenario = ScenarioCatalog.parse(new ByteArrayInputStream("""
        scenarios:
          - {id: q, title: Q, fault: NONE, keys: 3, strategies: [VERACACHE_CACHE_ASIDE]}
        """.getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
    String table = "qc_" + ProcessHandle.current().pid() + "_" + run;
    workload = new Workload(stack.database(), table, scenario);
    closeables.push(() -> drop(stack.database(), table));
    namespace = "qc" + ProcessHandle.current().pid() + "n" + run;
    context = new RunContext(scenario, Scenario.Strategy.VERACACHE_CACHE_ASIDE, workload, new History(),
        new WriteSignals(), namespace, RaceInjection.NONE);
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
  void aStaleL1EntryThatRedisNoLongerHasIsCounted() throws Exception {
    TcpProxy proxy = TcpProxy.start("qc-instance", stack.redis().host(), stack.redis().port());
    closeables.push(proxy);
    VeracacheStrategy instance = instance(proxy.proxiedRedisUri(stack.redis().uri()));
    VeracacheStrategy other = instance(stack.redis().uri());
    readUntilInL1(instance, "k0");

    // The instance is cut off: it cannot hear that k0 changes, and it distrusts its L1 (get would not serve k0).
    proxy.partition();
    commitNewVersion(0);
    redis.del(namespace + ":k0");
    awaitTrue(instance::degraded, "the partitioned instance to notice it may miss invalidations");

    List<QuiescenceComparison.StaleKey> stale =
        QuiescenceComparison.staleKeys(stack.redis().uri(), workload, List.of(other, instance), namespace);

    assertThat(stale).extracting(QuiescenceComparison.StaleKey::key).containsExactly("k0");
    QuiescenceComparison.StaleKey k0 = stale.get(0);
    assertThat(k0.database()).isEqualTo(2);
    assertThat(k0.redis()).as("Redis no longer has k0").isNull();
    assertThat(k0.l1ByInstance()).as("instance 1's L1 still holds v1").isEqualTo(Map.of(1, 1L));
  }

  @Test
  void anInstanceWhoseL1CannotBeReadFailsTheComparisonNamingTheKeyAndTheInstance() throws Exception {
    VeracacheStrategy readable = instance(stack.redis().uri());
    CacheUnderTest unreadable = new CacheUnderTest() {
      @Override
      public long read(String key) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void write(RunContext.Writer writer, int row) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Long peekL1(String key) {
        throw new IllegalStateException("the instance's client is closed");
      }

      @Override
      public Long parseRedisValue(String raw) {
        return readable.parseRedisValue(raw);
      }

      @Override
      public void close() {}
    };

    assertThatThrownBy(() -> QuiescenceComparison.staleKeys(stack.redis().uri(), workload,
        List.of(readable, unreadable), namespace))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("instance 1's L1 could not be read for k0")
        .hasMessageContaining("the instance's client is closed");
  }

  @Test
  void aValueInRedisThatTheStrategyDoesNotWriteFailsTheComparisonNamingTheKey() throws Exception {
    VeracacheStrategy instance = instance(stack.redis().uri());
    redis.set(namespace + ":k1", "garbage");

    assertThatThrownBy(() -> QuiescenceComparison.staleKeys(stack.redis().uri(), workload, List.of(instance),
        namespace))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Redis holds for k1 (" + namespace + ":k1)")
        .hasMessageContaining("'garbage'");
  }

  @Test
  void aRedisThatDoesNotAnswerFailsTheComparison() throws Exception {
    VeracacheStrategy instance = instance(stack.redis().uri());
    stack.redis().pause();
    try {
      assertThatThrownBy(() -> QuiescenceComparison.staleKeys(stack.redis().uri(), workload, List.of(instance),
          namespace))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("Redis could not be");
    } finally {
      stack.redis().resume();
    }
  }

  @Test
  void levelsThatAgreeWithTheDatabaseOrHoldNothingAreNotStale() throws Exception {
    VeracacheStrategy instance = instance(stack.redis().uri());
    readUntilInL1(instance, "k2");

    assertThat(QuiescenceComparison.staleKeys(stack.redis().uri(), workload, List.of(instance), namespace)).isEmpty();
  }

  private VeracacheStrategy instance(String redisUri) {
    VeracacheStrategy instance = new VeracacheStrategy(context, 0, redisUri, VeracacheStrategy.Pattern.CACHE_ASIDE);
    closeables.push(instance);
    return instance;
  }

  /** Reads until the key sits in the instance's L1 (a fill reaches L1 with the next read, after its push). */
  private static void readUntilInL1(VeracacheStrategy instance, String key) throws Exception {
    awaitTrue(() -> {
      instance.read(key);
      return instance.peekL1(key) != null;
    }, key + " in the instance's L1");
    assertThat(instance.peekL1(key)).isEqualTo(1L);
  }

  private void commitNewVersion(int row) throws Exception {
    try (Connection c = stack.database().connect()) {
      c.setAutoCommit(false);
      Workload.Commit commit = workload.write(c, row, new Random(1), Workload.Intent.UPSERT);
      assertThat(commit.version()).isEqualTo(2);
    }
  }

  private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("waited " + PATIENCE + " for " + what);
      }
      TimeUnit.MILLISECONDS.sleep(10); // polling a condition
    }
  }

  private static void drop(DatabaseServer db, String table) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_seq");
    }
  }
}
