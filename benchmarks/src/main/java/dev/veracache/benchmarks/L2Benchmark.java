package dev.veracache.benchmarks;

import dev.veracache.CacheAside;
import dev.veracache.CacheLoader;
import dev.veracache.CacheOptions;
import dev.veracache.InspectorOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.stack.EmbeddedStack;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of one read that reaches Redis, single-threaded, on the same embedded Redis:
 * <ul>
 *   <li>{@code rawLettuceGet}: a Lettuce sync GET on a RESP3 connection;</li>
 *   <li>{@code veracacheL2Hit}: Veracache with L1 off, raw-bytes codec (so codec cost is the same as raw);
 *       target at most 1.1x the raw GET;</li>
 *   <li>{@code veracacheMissWithFill}: a key never seen before: GET, lease script, in-memory loader, fill script;</li>
 *   <li>{@code naiveMissWithFill}: the same miss done the textbook way: GET, then SET with a TTL.</li>
 *   <li>{@code veracacheInvalidateThenMiss}: a write's invalidation of a cached key, then the read that misses and
 *       fills (L1 on): invalidation script, lease script (no GET: the key's change was pushed), fill script; the
 *       re-read of the fill into L1 runs on the client's own thread. {@code naiveDeleteThenMiss}: DEL, GET, SET.</li>
 *   <li>{@code veracacheL2HitInspected}: {@code veracacheL2Hit} on a second client whose consistency inspector samples
 *       1% of hits (an in-memory loader re-read on the inspector's thread, bytes compared).</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class L2Benchmark {

  private static final int KEYS = 1024;
  private static final byte[] VALUE = "{\"id\":1,\"name\":\"a product name\",\"version\":1}"
      .getBytes(StandardCharsets.UTF_8);

  private EmbeddedStack stack;
  private RedisClient rawClient;
  private StatefulRedisConnection<String, byte[]> rawConnection;
  private RedisCommands<String, byte[]> raw;
  private Veracache veracache;
  private CacheAside<String, byte[]> l2Only;
  private CacheAside<String, byte[]> missing;
  private CacheAside<String, byte[]> changing;
  private Veracache inspectedClient;
  private CacheAside<String, byte[]> inspected;
  private String[] rawKeys;
  private String[] cacheKeys;
  private final AtomicLong fresh = new AtomicLong();
  private final CacheLoader<String, byte[]> loader = key -> VALUE;

  @Setup(Level.Trial)
  public void setUp() {
    stack = EmbeddedStack.start();
    rawClient = RedisClient.create(stack.redis().uri());
    rawClient.setOptions(io.lettuce.core.ClientOptions.builder().protocolVersion(ProtocolVersion.RESP3).build());
    rawConnection = rawClient.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    raw = rawConnection.sync();
    veracache = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).build());
    l2Only = veracache.cacheAside(CacheOptions.<String, byte[]>builder("bench-l2", ValueCodec.bytes())
        .l1Enabled(false).ttl(Duration.ofHours(1)).build());
    missing = veracache.cacheAside(CacheOptions.<String, byte[]>builder("bench-miss", ValueCodec.bytes())
        .l1Enabled(false).ttl(Duration.ofMinutes(5)).build());
    changing = veracache.cacheAside(CacheOptions.<String, byte[]>builder("bench-changing", ValueCodec.bytes())
        .ttl(Duration.ofMinutes(5)).build());
    inspectedClient = Veracache.create(VeracacheOptions.builder(stack.redis().uri()).clientName("inspected")
        .inspector(InspectorOptions.builder().sampleRate(0.01).build()).build());
    inspected = inspectedClient.cacheAside(CacheOptions.<String, byte[]>builder("bench-l2", ValueCodec.bytes())
        .l1Enabled(false).ttl(Duration.ofHours(1)).build()); // the same Redis keys as l2Only
    rawKeys = new String[KEYS];
    cacheKeys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      rawKeys[i] = "bench-raw:" + i;
      raw.set(rawKeys[i], VALUE);
      cacheKeys[i] = Integer.toString(i);
      l2Only.get(cacheKeys[i], loader);
      changing.get(cacheKeys[i], loader);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    System.out.printf("%ninspector at 1%%: sampled %d, dropped %d, mismatched %d, stale %d, errors %d%n",
        inspectedClient.inspector().sampled(), inspectedClient.inspector().dropped(),
        inspectedClient.inspector().mismatched(), inspectedClient.inspector().stale(),
        inspectedClient.inspector().errors());
    inspectedClient.close();
    rawConnection.close();
    rawClient.shutdown();
    veracache.close();
    stack.close();
  }

  @State(Scope.Thread)
  public static class Cursor {
    int next;

    int advance() {
      next = (next + 1) & (KEYS - 1);
      return next;
    }
  }

  @Benchmark
  public byte[] rawLettuceGet(Cursor cursor) {
    return raw.get(rawKeys[cursor.advance()]);
  }

  @Benchmark
  public byte[] veracacheL2Hit(Cursor cursor) {
    return l2Only.get(cacheKeys[cursor.advance()], loader);
  }

  @Benchmark
  public byte[] veracacheL2HitInspected(Cursor cursor) {
    return inspected.get(cacheKeys[cursor.advance()], loader);
  }

  @Benchmark
  public byte[] veracacheMissWithFill() {
    return missing.get("m" + fresh.incrementAndGet(), loader);
  }

  @Benchmark
  public byte[] naiveMissWithFill() {
    String key = "bench-naive:" + fresh.incrementAndGet();
    byte[] cached = raw.get(key);
    if (cached == null) {
      raw.set(key, VALUE, SetArgs.Builder.px(300_000)); // PSETEX is deprecated in Lettuce; SET PX is the same
      return VALUE;
    }
    return cached;
  }

  @Benchmark
  public byte[] veracacheInvalidateThenMiss(Cursor cursor) {
    String key = cacheKeys[cursor.advance()];
    changing.invalidate(key);
    return changing.get(key, loader);
  }

  @Benchmark
  public byte[] naiveDeleteThenMiss(Cursor cursor) {
    String key = rawKeys[cursor.advance()];
    raw.del(key);
    byte[] cached = raw.get(key);
    if (cached == null) {
      raw.set(key, VALUE, SetArgs.Builder.px(300_000));
      return VALUE;
    }
    return cached;
  }
}
