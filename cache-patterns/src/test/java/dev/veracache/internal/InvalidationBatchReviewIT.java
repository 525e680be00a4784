package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A batch sent as calls of up to {@link FenceProtocol#INVALIDATIONS_PER_CALL} keys must leave Redis exactly as one
 * single-key call per invalidation, in list order, would: the same records, the same types, the same lifetimes.
 * Two namespaces start from the same records (values, "not found", tombstones with and without leases, versions at
 * the limits, foreign bytes, hashes and lists, with and without a lifetime); one gets the batch, the other the same
 * invalidations one call each; every key is then compared. Keys repeat within and across calls.
 */
@ExtendWith(EmbeddedStackExtension.class)
class InvalidationBatchReviewIT {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final int KEYS = 12;
  private static final String[] VERSIONS =
      {"-1", "0", "1", "2", "3", "10", "9223372036854775806", "9223372036854775807", "9223372036854775808"};
  private static final long[] CHANGE_VERSIONS = {-1, 0, 1, 2, 3, 10, Long.MAX_VALUE - 1, Long.MAX_VALUE};
  private static final long[] TOMBSTONE_TTLS = {100_000, 200_000, 300_000};
  private static final long INITIAL_TTL = 500_000;

  private RedisClient client;
  private StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> cli;
  private RedisLink link;
  private FenceProtocol fence;

  @BeforeEach
  void connect(RedisServer redis) {
    client = RedisClient.create(redis.uri());
    connection = client.connect();
    cli = connection.sync();
    link = new RedisLink(VeracacheOptions.builder(redis.uri()).build());
    fence = new FenceProtocol(link);
  }

  @AfterEach
  void close() {
    link.close();
    connection.close();
    client.shutdown();
  }

  @Test
  void aBatchLeavesExactlyWhatOneCallPerKeyInOrderLeaves() {
    int[] sizes = {0, 1, 2, 63, 64, 65, 127, 128, 129, 200};
    Random random = new Random(20261201L);
    for (int round = 0; round < 120; round++) {
      String batched = "rb" + SEQUENCE.incrementAndGet();
      String single = "rs" + SEQUENCE.incrementAndGet();
      for (int k = 0; k < KEYS; k++) {
        seed(random, batched + ":k" + k, single + ":k" + k);
      }
      int size = sizes[round % sizes.length];
      List<Change> changes = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        long version = CHANGE_VERSIONS[random.nextInt(CHANGE_VERSIONS.length)];
        boolean deleted = version >= 0 && random.nextInt(3) == 0;
        changes.add(new Change("k" + random.nextInt(KEYS), Invalidation.of(version, deleted),
            TOMBSTONE_TTLS[random.nextInt(TOMBSTONE_TTLS.length)]));
      }

      List<FenceProtocol.KeyedInvalidation> batch = new ArrayList<>();
      for (Change c : changes) {
        batch.add(new FenceProtocol.KeyedInvalidation(batched + ":" + c.key, c.invalidation, c.ttl));
      }
      fence.invalidatePipelined(batch);
      for (Change c : changes) {
        fence.invalidate(single + ":" + c.key, c.invalidation, c.ttl);
      }

      for (int k = 0; k < KEYS; k++) {
        assertThat(state(batched + ":k" + k)).as("round %d (%d invalidations), k%d: %s", round, size, k, changes)
            .isEqualTo(state(single + ":k" + k));
      }
    }
  }

  private record Change(String key, Invalidation invalidation, long ttl) {
    @Override
    public String toString() {
      return key + "=" + new String(invalidation.scriptArgs(ttl)[0], StandardCharsets.US_ASCII) + "/" + (char) invalidation.scriptArgs(ttl)[2][0];
    }
  }

  /** The same random starting record under both keys. */
  private void seed(Random random, String a, String b) {
    String v = VERSIONS[random.nextInt(VERSIONS.length)];
    boolean expires = random.nextBoolean();
    String raw;
    switch (random.nextInt(11)) {
      case 0 -> raw = null;
      case 1, 2 -> raw = "V:" + v + ":{\"x\":1}";
      case 3 -> raw = "N:" + v + ":";
      case 4 -> raw = "T:" + v + ":" + (random.nextBoolean() ? "0:0" : "77:1999999999999");
      case 5 -> raw = "P:" + v + ":" + (random.nextBoolean() ? "0:0" : "78:1999999999999");
      case 6 -> raw = "D:" + v + ":" + (random.nextBoolean() ? "0:0" : "79:1999999999999");
      case 7 -> raw = random.nextBoolean() ? "foreign bytes" : "V:01:leading zero";
      case 8 -> {
        cli.hset(a, "f", "1");
        cli.hset(b, "f", "1");
        expire(expires, a, b);
        return;
      }
      case 9 -> {
        cli.rpush(a, "x");
        cli.rpush(b, "x");
        expire(expires, a, b);
        return;
      }
      default -> raw = "V:" + v + ":";
    }
    if (raw == null) {
      return;
    }
    SetArgs args = expires ? SetArgs.Builder.px(INITIAL_TTL) : new SetArgs();
    cli.set(a, raw, args);
    cli.set(b, raw, args);
  }

  private void expire(boolean expires, String a, String b) {
    if (expires) {
      cli.pexpire(a, INITIAL_TTL);
      cli.pexpire(b, INITIAL_TTL);
    }
  }

  /** Type, value and which lifetime a key has (none, or the nearest of the ones this test sets). */
  private String state(String key) {
    String type = cli.type(key);
    String value = "string".equals(type) ? cli.get(key) : "";
    long pttl = cli.pttl(key);
    String life;
    if (pttl < 0) {
      life = Long.toString(pttl);
    } else {
      long nearest = INITIAL_TTL;
      for (long ttl : TOMBSTONE_TTLS) {
        if (Math.abs(ttl - pttl) < Math.abs(nearest - pttl)) {
          nearest = ttl;
        }
      }
      life = "~" + nearest;
    }
    return type + " " + value + " " + life;
  }
}
