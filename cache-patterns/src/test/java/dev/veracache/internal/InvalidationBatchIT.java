package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.VeracacheOptions;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The CDC listener's batch goes to Redis as script calls of up to {@link FenceProtocol#INVALIDATIONS_PER_CALL} keys
 * each: the keys must be applied exactly as one call per key would, in list order, across call boundaries.
 */
@ExtendWith(EmbeddedStackExtension.class)
class InvalidationBatchIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final long TTL = 60_000;

  private RedisServer redis;
  private RedisClient client;
  private StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> cli;
  private String namespace;

  @BeforeEach
  void connect(RedisServer redis) {
    this.redis = redis;
    client = RedisClient.create(redis.uri());
    connection = client.connect();
    cli = connection.sync();
    namespace = "batch" + SEQUENCE.incrementAndGet();
  }

  @AfterEach
  void close() {
    connection.close();
    client.shutdown();
  }

  @Test
  void aBatchOfSeveralCallsIsAppliedInListOrderPerKeyAcrossCallBoundaries() {
    int per = FenceProtocol.INVALIDATIONS_PER_CALL;
    List<KeyInvalidation> batch = new ArrayList<>();
    for (int i = 0; i < 3 * per; i++) {
      batch.add(new KeyInvalidation(namespace, "k" + i, 2, TTL));
    }
    // One key changed on both sides of the first call boundary: the later change wins.
    batch.set(per - 1, new KeyInvalidation(namespace, "edge", 4, TTL));
    batch.set(per, new KeyInvalidation(namespace, "edge", 5, TTL));
    // A key updated, replayed with an older version in the next call, then deleted in the third.
    batch.set(10, new KeyInvalidation(namespace, "row", 7, TTL));
    batch.set(per + 10, new KeyInvalidation(namespace, "row", 3, TTL));
    batch.set(2 * per + 10, new KeyInvalidation(namespace, "row", 9, true, TTL));
    // A cached value newer than its change, and one older.
    cli.set(namespace + ":k20", "V:3:{}");
    cli.set(namespace + ":k21", "V:1:{}");
    // The last key of the batch, alone in its call.
    batch.add(new KeyInvalidation(namespace, "last", -1, TTL));
    cli.set(namespace + ":last", "V:8:{}");

    try (RedisInvalidator invalidator = RedisInvalidator.create(VeracacheOptions.builder(redis.uri()).build())) {
      invalidator.invalidate(batch);
    }

    assertThat(cli.get(namespace + ":edge")).isEqualTo("P:5:0:0");
    assertThat(cli.get(namespace + ":row")).as("deleted at 9: the floor is 10").isEqualTo("D:10:0:0");
    assertThat(cli.get(namespace + ":k20")).as("a value newer than the change stays").isEqualTo("V:3:{}");
    assertThat(cli.get(namespace + ":k21")).isEqualTo("P:2:0:0");
    assertThat(cli.get(namespace + ":last")).as("unversioned: the value dropped, its floor kept").isEqualTo("T:8:0:0");
    for (int i = 0; i < 3 * per; i++) {
      if (i != per - 1 && i != per && i % per != 10 && i != 20 && i != 21) {
        assertThat(cli.get(namespace + ":k" + i)).as("k%d", i).isEqualTo("P:2:0:0");
      }
    }
  }

  @Test
  void aCallWhoseArgumentsDoNotMatchItsKeysIsRefusedBeforeWritingAnything() {
    cli.set(namespace + ":a", "V:1:{}");
    String sha = cli.scriptLoad(FenceScript.INVALIDATE.source);
    assertThatThrownBy(() -> cli.evalsha(sha, ScriptOutputType.INTEGER,
        new String[] {namespace + ":a", namespace + ":b"}, "5", "60000", "P", "0"))
        .isInstanceOf(RedisException.class)
        .hasMessageContaining("2 keys need 8 arguments, got 4");
    assertThat(cli.get(namespace + ":a")).isEqualTo("V:1:{}");
    assertThat(cli.exists(namespace + ":b")).isZero();
  }
}
