package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link RedisMemoryPressure} against the real embedded Redis: it makes Redis evict keys of a cache namespace (not only
 * its own filler), reports each eviction of a watched key as it happens and the total from Redis's own statistics, and
 * leaves Redis exactly as it found it. Waits are bounded by a generous patience, so a loaded machine makes the test
 * slower, not red.
 */
@ExtendWith(EmbeddedStackExtension.class)
class RedisMemoryPressureIT {

  private static final long PATIENCE_MILLIS = Duration.ofSeconds(20).toMillis();

  private RedisClient client;
  private StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> redis;

  @BeforeEach
  void connect(EmbeddedStack stack) {
    client = RedisClient.create(stack.redis().uri());
    connection = client.connect();
    redis = connection.sync();
  }

  @AfterEach
  void disconnect() {
    connection.close();
    client.shutdown();
  }

  @Test
  void evictsACacheRecordReportsItAndRestoresEverySettingOnClose(EmbeddedStack stack) {
    Map<String, String> before = Map.of(
        "maxmemory", config("maxmemory"),
        "maxmemory-policy", config("maxmemory-policy"),
        "notify-keyspace-events", config("notify-keyspace-events"));
    String tombstone = "mp-ns:k1";
    redis.set(tombstone, "T:7:0:0");

    try (RedisMemoryPressure pressure = RedisMemoryPressure.start(stack.redis().uri(),
        RedisMemoryPressure.Spec.of("allkeys-random"))) {
      long seen = pressure.evictionsOf(tombstone);
      // Keep re-creating the record until Redis evicts it once: every eviction is random, so this is a bounded wait
      // for an event that the pressure makes certain, not a sleep.
      boolean evicted = false;
      long deadline = System.nanoTime() + Duration.ofMillis(PATIENCE_MILLIS).toNanos();
      while (!evicted && System.nanoTime() < deadline) {
        if (pressure.absent(tombstone)) {
          redis.set(tombstone, "T:7:0:0");
          seen = pressure.evictionsOf(tombstone);
        }
        // A notification of an earlier eviction can arrive after the record was re-created (notifications are
        // asynchronous): count an eviction only when the record is gone, and otherwise wait for the next one.
        evicted = pressure.awaitEvictionAfter(tombstone, seen, 100) && pressure.absent(tombstone);
        if (!evicted && !pressure.absent(tombstone)) {
          seen = pressure.evictionsOf(tombstone);
        }
      }
      assertThat(evicted).as("an eviction of %s reported within %d ms", tombstone, PATIENCE_MILLIS).isTrue();
      assertThat(pressure.evictionsOf(tombstone)).isGreaterThan(seen);
      assertThat(pressure.absent(tombstone)).isTrue();
      assertThat(pressure.evictedKeys()).as("Redis's own evicted_keys since start").isPositive();
      assertThat(config("maxmemory")).isEqualTo(Long.toString(pressure.limitBytes()));
      assertThat(config("maxmemory-policy")).isEqualTo("allkeys-random");
      assertThat(pressure.fillerFailures()).as("filler writes Redis refused").isZero();
    }

    assertThat(config("maxmemory")).isEqualTo(before.get("maxmemory"));
    assertThat(config("maxmemory-policy")).isEqualTo(before.get("maxmemory-policy"));
    assertThat(config("notify-keyspace-events")).isEqualTo(before.get("notify-keyspace-events"));
    assertThat(redis.scan(ScanArgs.Builder.matches(RedisMemoryPressure.FILLER_PREFIX + "*").limit(100_000)).getKeys())
        .as("filler keys left behind").isEmpty();
    redis.del(tombstone);
  }

  @Test
  void aWaitForAnEvictionThatDoesNotComeEndsAtItsBound(EmbeddedStack stack) {
    try (RedisMemoryPressure pressure = RedisMemoryPressure.start(stack.redis().uri(),
        RedisMemoryPressure.Spec.of("allkeys-lru"))) {
      String neverWritten = "mp-ns:never";
      assertThat(pressure.absent(neverWritten)).isTrue();
      long started = System.nanoTime();
      assertThat(pressure.awaitEvictionAfter(neverWritten, pressure.evictionsOf(neverWritten), 200)).isFalse();
      assertThat(System.nanoTime() - started).as("waited at least its bound").isGreaterThanOrEqualTo(200_000_000L);
    }
  }

  @Test
  void aPolicyThatCannotEvictTheFillerIsRefusedByName() {
    assertThatThrownBy(() -> RedisMemoryPressure.Spec.of("volatile-lru"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("volatile-lru");
    assertThatThrownBy(() -> new RedisMemoryPressure.Spec("allkeys-random", 1024, 1024, 2000))
        .hasMessageContaining("headroomBytes");
  }

  private String config(String name) {
    return redis.configGet(name).get(name);
  }
}
