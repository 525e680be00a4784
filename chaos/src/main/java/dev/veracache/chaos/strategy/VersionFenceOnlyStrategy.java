package dev.veracache.chaos.strategy;

import dev.veracache.baseline.BaselineConnections;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;

/**
 * A version fence without leases (the CacheFront style): an invalidation writes a tombstone {@code T:<version>} with a
 * TTL, and a fill is a script that stores {@code V:<version>} only if Redis holds no newer version (a tombstone at the
 * fill's own version lets it in: that is the row the change produced). Safe while the tombstone lives; once it has
 * expired (R12) or been evicted (R14), a fill slower than that lands its old version. No L1.
 */
final class VersionFenceOnlyStrategy implements CacheUnderTest {

  private static final String FILL = """
      local cur = redis.call('GET', KEYS[1])
      if cur then
        local kind, v = string.match(cur, '^([VTN]):(%-?%d+)')
        v = tonumber(v)
        local fill = tonumber(ARGV[1])
        if v and (v > fill or (v == fill and kind ~= 'T')) then return 0 end
      end
      redis.call('SET', KEYS[1], ARGV[3] .. ':' .. ARGV[1], 'PX', ARGV[2])
      return 1
      """;
  private static final String INVALIDATE = """
      local cur = redis.call('GET', KEYS[1])
      if cur then
        local v = tonumber(string.match(cur, '^[VTN]:(%-?%d+)'))
        if v and v > tonumber(ARGV[1]) then return 0 end
      end
      redis.call('SET', KEYS[1], 'T:' .. ARGV[1], 'PX', ARGV[2])
      return 1
      """;
  private static final long VALUE_TTL_MILLIS = Duration.ofMinutes(10).toMillis();

  private final RunContext context;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisCommands<String, String> redis;
  private final long tombstoneTtlMillis;

  VersionFenceOnlyStrategy(RunContext context, String redisUri) {
    this.context = context;
    this.client = RedisClient.create(redisUri);
    this.connection = BaselineConnections.connect(client, StringCodec.UTF8, redisUri);
    this.redis = connection.sync();
    int ttl = context.scenario.cache().tombstoneTtlMillis();
    this.tombstoneTtlMillis = ttl > 0 ? ttl : Duration.ofSeconds(60).toMillis();
  }

  @Override
  public long read(String key) throws Exception {
    String redisKey = context.namespace + ":" + key;
    Long cached = parseRedisValue(redis.get(redisKey));
    if (cached != null) {
      RunContext.answeredByRedis();
      return cached;
    }
    String loaded = context.loader.load(key);
    context.holdFill(key);
    long version = NaiveRedisStrategy.version(loaded);
    // A "not found" has no version of its own: fenced as -1, so any tombstone refuses it.
    redis.eval(FILL, ScriptOutputType.INTEGER, new String[] {redisKey}, Long.toString(version),
        Long.toString(VALUE_TTL_MILLIS), loaded == null ? "N" : "V");
    return version;
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    Workload.Commit commit = writer.commit(row);
    for (String key : commit.appInvalidates()) {
      try {
        redis.eval(INVALIDATE, ScriptOutputType.INTEGER, new String[] {context.namespace + ":" + key},
            Long.toString(commit.version()), Long.toString(tombstoneTtlMillis));
      } catch (RuntimeException e) {
        // not retried: this baseline is about the fence, not about failed deletes
      }
    }
    writer.settle(commit);
  }

  /** No L1: every read goes to Redis. */
  @Override
  public Long peekL1(String key) {
    return null;
  }

  @Override
  public Long parseRedisValue(String raw) {
    if (raw == null || raw.startsWith("T:") || raw.startsWith("P:") || raw.startsWith("D:")) { // tombstones
      return null;
    }
    if (raw.startsWith("N:")) {
      return History.NOT_FOUND;
    }
    if (raw.startsWith("V:")) {
      try {
        return Long.parseLong(raw.substring(2));
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw new IllegalArgumentException("not a version-fence record (V:, N:, T:<version>): '" + raw + "'");
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
