package dev.veracache.internal;

import dev.veracache.FailureReason;
import dev.veracache.VeracacheException;
import dev.veracache.VeracacheOptions;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Redis connection of a {@code Veracache} client (or of a {@link RedisInvalidator}), behind a circuit breaker.
 *
 * <p>Internal: not part of the API; may change in any release. The fence scripts run through {@link FenceProtocol}
 * only: this class carries commands and classifies their failures, it knows no script's arguments or replies.
 *
 * <p>Invariants:
 * <ul>
 *   <li>One RESP3 connection carries the reads, the fence scripts and the tracking pushes. Replies and pushes on one
 *       connection arrive in the order Redis produced them, which is what closes race R7 across JVMs.</li>
 *   <li>A command in flight when the connection drops fails; it is never re-sent after the reconnect
 *       ({@code REJECT_COMMANDS}): the Redis reconnected to may have restarted from an older snapshot, and a read that
 *       passed its trust checks before the drop must not be answered by it (R15; pinned by {@code ListenerWatchIT}).
 *       </li>
 *   <li>While disconnected, commands are rejected at once (no queue of commands waiting for a reconnect), and every call
 *       has the command timeout: a dead or paused Redis costs at most one timeout per call until the breaker opens,
 *       and nothing while it is open.</li>
 *   <li>Every failure leaves as an {@link L2Failure}, is counted in {@code veracache.redis.errors} and is never
 *       swallowed here: callers decide how to degrade.</li>
 *   <li>An error Redis answers is classified by its code ({@link #errorCode}), read the same from Redis 6.2 and 7
 *       although they word errors raised inside scripts differently: OOM and READONLY are refusals (not counted by the
 *       breaker), LOADING and BUSY mean Redis cannot serve now (counted), any other code is a refusal.</li>
 * </ul>
 */
public final class RedisLink implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
  private static final byte[][] NO_ARGS = new byte[0][];

  private final CircuitBreaker breaker;
  private final ClientResources resources;
  private final RedisClient client;
  private final StatefulRedisConnection<String, byte[]> connection;
  private final RedisCommands<String, byte[]> commands;
  private final String endpoint;
  private final MeterRegistry registry;
  private final String clientName;
  private final long commandTimeoutNanos;
  private final ConcurrentHashMap<FailureReason, Counter> errorCounters = new ConcurrentHashMap<>();

  public RedisLink(VeracacheOptions options) {
    this(RedisSettings.of(options));
  }

  public RedisLink(RedisSettings options) {
    this.registry = options.meterRegistry();
    this.clientName = options.clientName();
    this.commandTimeoutNanos = options.commandTimeout().toNanos();
    RedisURI uri = options.redisUri();
    this.endpoint = uri.getHost() + ":" + uri.getPort(); // never the password
    this.resources = ClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
        .build();
    this.client = RedisClient.create(resources, uri);
    client.setOptions(ClientOptions.builder()
        .protocolVersion(ProtocolVersion.RESP3)
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
        .socketOptions(SocketOptions.builder().connectTimeout(options.commandTimeout().multipliedBy(4)).build())
        .build());
    this.breaker = CircuitBreaker.of("veracache-redis-" + endpoint, CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(options.breakerWindowSize())
        .minimumNumberOfCalls(options.breakerMinimumCalls())
        .failureRateThreshold(options.breakerFailureRatePercent())
        .waitDurationInOpenState(options.breakerOpenDuration())
        .permittedNumberOfCallsInHalfOpenState(1)
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .recordException(e -> e instanceof L2Failure f && f.kind == L2Failure.Kind.UNAVAILABLE)
        .build());
    try {
      this.connection = client.connect(CODEC);
    } catch (RedisException e) {
      client.shutdown();
      logIfNotShutDown(resources.shutdown(), endpoint);
      throw new VeracacheException("cannot connect to Redis at " + endpoint + ": " + e.getMessage(), e);
    }
    this.commands = connection.sync();
    try {
      commands.clientSetname(options.clientName());
    } catch (RedisException e) {
      log.warn("Redis at {} refused CLIENT SETNAME: {}", endpoint, e.getMessage());
    }
  }

  static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  RedisCodec<String, byte[]> codec() {
    return CODEC;
  }

  /** The circuit breaker every data call goes through. */
  public CircuitBreaker breaker() {
    return breaker;
  }

  /** The one connection: tracking is switched on here, and its pushes arrive here. */
  public StatefulRedisConnection<String, byte[]> connection() {
    return connection;
  }

  public RedisClient client() {
    return client;
  }

  /** {@code host:port}, never the password: for logs. */
  public String endpoint() {
    return endpoint;
  }

  /** GET, or null when absent. */
  public byte[] get(String key) {
    return call(() -> commands.get(key));
  }

  /**
   * Deletes ({@code UNLINK}) every key that begins with {@code prefix}, one {@code SCAN} page at a time, and returns
   * how many. Every key present for the whole scan is deleted; keys created meanwhile may stay. Not guarded by the
   * breaker: its callers surface a failure to theirs.
   */
  public long unlinkStartingWith(String prefix) {
    String pattern = prefix.replaceAll("([*?\\[\\]\\\\])", "\\\\$1") + "*"; // the prefix taken literally
    return control(() -> {
      var sync = connection.sync();
      long deleted = 0;
      io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
      do {
        io.lettuce.core.KeyScanCursor<String> page =
            sync.scan(cursor, io.lettuce.core.ScanArgs.Builder.matches(pattern).limit(1000));
        if (!page.getKeys().isEmpty()) {
          deleted += sync.unlink(page.getKeys().toArray(String[]::new));
        }
        cursor = page;
      } while (!cursor.isFinished());
      return deleted;
    });
  }

  /** SMEMBERS, as text. */
  public List<String> smembers(String key) {
    return call(() -> commands.smembers(key)).stream()
        .map(b -> new String(b, java.nio.charset.StandardCharsets.UTF_8)).toList();
  }

  /** What {@link #getWithPttl} found: the value (null when absent) and its remaining life in ms (PTTL's reply). */
  public record ValueAndPttl(byte[] value, long pttlMillis) {}

  /**
   * GET and PTTL of one key, sent back to back on the one connection before either reply is awaited: one round trip
   * (not atomic; a write may land between the two). PTTL answers -1 for a key without expiry, -2 for none.
   */
  public ValueAndPttl getWithPttl(String key) {
    return call(() -> {
      RedisAsyncCommands<String, byte[]> async = connection.async();
      RedisFuture<byte[]> value = async.get(key);
      RedisFuture<Long> pttl = async.pttl(key);
      long deadline = System.nanoTime() + commandTimeoutNanos;
      return new ValueAndPttl(await(value, deadline, "GET"), await(pttl, deadline, "PTTL"));
    });
  }

  /** SET key value NX PX ttlMillis: true when this call set it (the key was absent). */
  public boolean setIfAbsent(String key, byte[] value, long ttlMillis) {
    return call(() -> "OK".equals(commands.set(key, value, SetArgs.Builder.nx().px(ttlMillis))));
  }

  /** The reply of an async command sent on the one connection, as a sync call would throw its failure. */
  private static <T> T await(RedisFuture<T> reply, long deadlineNanos, String command) {
    try {
      return reply.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new RedisException(e.getCause());
    } catch (TimeoutException e) {
      throw new RedisCommandTimeoutException(command + " reply not in");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RedisException("interrupted while waiting for Redis", e);
    }
  }

  /** Runs a fence script on one key; the script's reply as Lettuce decodes it (Long, byte[] or a List of those). */
  Object run(FenceScript script, String key, byte[]... args) {
    return runOnKeys(script, new String[] {key}, args);
  }

  /** Runs a script that reads or writes several keys at once; guarded by the breaker like every data call. */
  Object runOnKeys(FenceScript script, String[] keys, byte[]... args) {
    byte[][] argv = args.length == 0 ? NO_ARGS : args;
    return call(() -> {
      try {
        return commands.evalsha(script.sha1, ScriptOutputType.MULTI, keys, argv);
      } catch (RedisNoScriptException e) {
        // Script cache is empty after a Redis restart or SCRIPT FLUSH: load once and retry.
        commands.scriptLoad(script.source);
        return commands.evalsha(script.sha1, ScriptOutputType.MULTI, keys, argv);
      }
    });
  }

  /**
   * Runs one script many times, pipelined: all calls are written before any reply is awaited, in order, on the one
   * connection, so per-key order is kept. Call {@code i} gets the keys {@code keys.get(i)} and the arguments
   * {@code args.get(i)}. Waits for every reply (at most the command timeout after the last was sent); throws the first
   * failure. Not guarded by the breaker: its callers (the CDC listener, write-behind) retry or queue.
   */
  void runPipelined(FenceScript script, List<String[]> keys, List<byte[][]> args) {
    try {
      runPipelinedOnce(script, keys, args);
    } catch (RedisNoScriptException e) {
      control(() -> commands.scriptLoad(script.source));
      try {
        runPipelinedOnce(script, keys, args);
      } catch (RedisNoScriptException again) {
        // Flushed again between the load and the rerun: a failure the caller retries, like any other.
        throw classify(again);
      }
    }
  }

  private void runPipelinedOnce(FenceScript script, List<String[]> keys, List<byte[][]> args) {
    RedisAsyncCommands<String, byte[]> async = connection.async();
    List<RedisFuture<Object>> replies = new ArrayList<>(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      replies.add(async.evalsha(script.sha1, ScriptOutputType.MULTI, keys.get(i), args.get(i)));
    }
    long deadline = System.nanoTime() + commandTimeoutNanos;
    for (RedisFuture<Object> reply : replies) {
      try {
        reply.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RedisNoScriptException noScript) {
          throw noScript;
        }
        throw classify(e.getCause() instanceof RuntimeException r ? r : new RedisException(e.getCause()));
      } catch (TimeoutException e) {
        throw classify(new RedisCommandTimeoutException("pipelined " + script + " replies not all in"));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw classify(new RedisException("interrupted while waiting for Redis", e));
      }
    }
  }

  /** A command that is not a data operation (CLIENT TRACKING, PING): counted, not guarded by the breaker. */
  public <T> T control(Supplier<T> command) {
    try {
      return command.get();
    } catch (RuntimeException e) {
      throw classify(e);
    }
  }

  private <T> T call(Supplier<T> command) {
    try {
      return breaker.executeSupplier(() -> {
        try {
          return command.get();
        } catch (RuntimeException e) {
          throw classify(e);
        }
      });
    } catch (CallNotPermittedException e) {
      throw failure(FailureReason.CIRCUIT_OPEN, "Redis at " + endpoint + " is considered down "
          + "(circuit breaker open)", e);
    }
  }

  private L2Failure classify(RuntimeException e) {
    if (e instanceof L2Failure f) {
      return f;
    }
    String message = String.valueOf(e.getMessage());
    if (e instanceof RedisCommandTimeoutException) {
      return failure(FailureReason.TIMEOUT, "Redis at " + endpoint + " timed out: " + message, e);
    }
    if (e instanceof RedisCommandExecutionException) {
      switch (errorCode(message)) {
        case "OOM":
          return failure(FailureReason.OOM, "Redis at " + endpoint + " is out of memory: " + message, e);
        case "READONLY":
          return failure(FailureReason.READONLY, "Redis at " + endpoint + " is a read-only replica: "
              + message, e);
        case "LOADING":
          return failure(FailureReason.LOADING, "Redis at " + endpoint + " is loading its data set: "
              + message, e);
        case "BUSY":
          return failure(FailureReason.BUSY, "Redis at " + endpoint + " is busy: " + message, e);
        case "WRONGTYPE":
          return failure(FailureReason.WRONGTYPE, "Redis at " + endpoint + " holds a key of "
              + "another type: " + message, e);
        case "NOPERM":
          return failure(FailureReason.NOPERM, "Redis at " + endpoint + " refuses this key or command to "
              + "our user (ACL): " + message, e);
        default:
          return failure(FailureReason.OTHER, "Redis at " + endpoint + " answered an error: " + message,
              e);
      }
    }
    if (e instanceof RedisException) {
      return failure(FailureReason.DISCONNECTED, "Redis at " + endpoint + " is unreachable: "
          + message, e);
    }
    return failure(FailureReason.OTHER, "Redis call to " + endpoint + " failed: " + e, e);
  }

  /** Where Redis 6.2 puts the code of an error raised inside a script: {@code ... @user_script: 1: -OOM ...}. */
  private static final Pattern WRAPPED_SCRIPT_ERROR =
      Pattern.compile("@user_script: ?\\d+: -([A-Z]+)\\b");

  /**
   * The code of a Redis error reply (its first word: {@code OOM}, {@code READONLY}, {@code BUSY}, {@code BUSYKEY},
   * {@code ERR}...). An error raised inside a script reads differently by version: Redis 7 answers the original code
   * ({@code OOM command not allowed ... script: <sha>, on @user_script:1.}), Redis 6.2 wraps it
   * ({@code ERR Error running script (call to f_<sha>): @user_script:1: @user_script: 1: -OOM command not allowed ...},
   * and a pcall error table reads {@code @user_script: 1: -OOM ...}): then the wrapped code is answered.
   */
  public static String errorCode(String message) {
    Matcher wrapped = WRAPPED_SCRIPT_ERROR.matcher(message);
    if ((message.startsWith("ERR Error running script") || message.startsWith("@user_script")) && wrapped.find()) {
      return wrapped.group(1);
    }
    int space = message.indexOf(' ');
    return space < 0 ? message : message.substring(0, space);
  }

  private L2Failure failure(FailureReason reason, String message, Throwable cause) {
    errorCounters.computeIfAbsent(reason, r -> Counter.builder("veracache.redis.errors")
        .description("Redis calls that failed, by reason")
        .tag("client", clientName)
        .tag("reason", r.tag())
        .register(registry)).increment();
    return new L2Failure(reason, message, cause);
  }

  @Override
  public void close() {
    try {
      connection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      logIfNotShutDown(resources.shutdown(0, 2, TimeUnit.SECONDS), endpoint);
    }
  }

  /** Lettuce stops its threads in the background and nobody waits for that: a failure to stop is logged here. */
  private static void logIfNotShutDown(io.netty.util.concurrent.Future<Boolean> shutdown, String endpoint) {
    shutdown.addListener(done -> {
      if (!done.isSuccess()) {
        log.warn("Redis client resources for {} did not shut down cleanly: {}", endpoint, done.cause().toString());
      }
    });
  }
}
