package dev.veracache.benchmarks.peers;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The raw limit of the Redis paths: one Lettuce connection (RESP3, the protocol Veracache uses; one multiplexed
 * connection, Lettuce's default use), sync commands, the same client library and version Veracache runs on. Every
 * key is SET with the 200-byte value; {@link #naiveMiss} is the textbook cache-aside miss (GET, then SET PX, what
 * PSETEX does; no fence, no invalidation of any local cache).
 */
@State(Scope.Benchmark)
public class LettuceState extends PeerState {

  private static final SetArgs FILL_TTL = SetArgs.Builder.px(Workload.FILL_TTL.toMillis());

  RedisClient client;
  StatefulRedisConnection<String, byte[]> connection;
  RedisCommands<String, byte[]> redis;
  String[] keys;

  @Override
  void start() {
    client = RedisClient.create(stack.redis().uri());
    client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    redis = connection.sync();
    keys = Workload.keys();
    for (int i = 0; i < keys.length; i++) {
      keys[i] = "raw:" + keys[i];
      redis.set(keys[i], Workload.value());
    }
  }

  /** A miss the naive way: GET (nil), load from the in-memory "database", SET with a TTL. */
  byte[] naiveMiss(String key) {
    byte[] cached = redis.get(key);
    if (cached != null) {
      return cached;
    }
    byte[] loaded = Workload.value();
    redis.set(key, loaded, FILL_TTL);
    return loaded;
  }

  @Override
  void closeClients() {
    if (connection != null) {
      connection.close();
    }
    if (client != null) {
      client.shutdown();
    }
  }
}
