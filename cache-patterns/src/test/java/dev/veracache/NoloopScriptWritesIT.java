package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pins the Redis behaviour {@link InvalidationTracker} is written for, on whichever Redis the build runs (the bundled
 * 6.2 and Debian's 7.0): with {@code CLIENT TRACKING ON BCAST PREFIX ns: NOLOOP}, a client's own plain writes are not
 * pushed back to it, but its own writes made inside a Lua script are, on both versions (redis/redis#11052). Every fence
 * write is a script, so each instance hears its own fills and invalidations; that costs an L1 entry, never
 * correctness. If a Redis stops pushing script writes back, this test fails and the comments relying on it must change.
 *
 * <p>No waiting on time: a PING sent after the write is answered after every push Redis sent before it, on the same
 * connection.
 */
class NoloopScriptWritesIT extends RealServersTest {

  private StatefulRedisConnection<String, String> tracked;
  private final List<String> pushedKeys = new CopyOnWriteArrayList<>();

  @BeforeEach
  void trackTheNamespaceWithNoloop() {
    RedisClient client = RedisClient.create(redisServer.uri());
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    closeLater(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    tracked = client.connect();
    closeLater(tracked);
    tracked.addListener((PushMessage message) -> {
      if ("invalidate".equals(message.getType()) && message.getContent().get(1) instanceof List<?> keys) {
        keys.forEach(k -> pushedKeys.add(k instanceof ByteBuffer b
            ? StandardCharsets.UTF_8.decode(b.duplicate()).toString() : String.valueOf(k)));
      }
    });
    tracked.sync().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(namespace + ":").noloop());
  }

  @Test
  void ownPlainWritesAreNotPushedBackUnderNoloop() {
    tracked.sync().set(redisKey(1), "plain");
    tracked.sync().ping();
    assertThat(pushedKeys).as("pushes on Redis %s", redisServer.version()).isEmpty();

    redisCli.set(redisKey(2), "someone else's write".getBytes(StandardCharsets.UTF_8));
    tracked.sync().ping();
    assertThat(pushedKeys).as("another client's write is pushed").containsExactly(redisKey(2));
  }

  @Test
  void ownWritesInsideScriptsArePushedBackDespiteNoloop() {
    tracked.sync().eval("return redis.call('SET', KEYS[1], ARGV[1])", ScriptOutputType.STATUS,
        new String[] {redisKey(1)}, "scripted");
    tracked.sync().ping();
    assertThat(pushedKeys).as("pushes on Redis %s (redis/redis#11052)", redisServer.version())
        .containsExactly(redisKey(1));
  }
}
