package dev.veracache.chaos.fault;

import dev.veracache.stack.RedisServer;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Redis that comes back from a restart with an older copy of its data (race R15: a restart from an old snapshot, a
 * failover to a replica that lagged). {@link #take} makes Redis write a snapshot ({@code SAVE}); the workload goes on
 * and Redis takes newer invalidations and values; {@link #restartFromSnapshot()} stops Redis and starts it again, and
 * it loads that snapshot: everything written since is gone, and old values are back.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The snapshot file lives only between {@link #take} and {@link #close()}.</b> The embedded Redis runs without
 *       persistence and other scenarios rely on a restart starting empty: {@code close()} deletes the file (idempotent;
 *       a file it cannot delete is logged and thrown).</li>
 *   <li><b>{@link #restartFromSnapshot()} returns only a Redis that loaded the snapshot</b>: a marker key written just
 *       before the {@code SAVE} and deleted just after it must be back (then it is deleted again); otherwise it throws,
 *       naming the snapshot file.</li>
 *   <li>Only a server this JVM controls (the embedded one) can be restarted; any other is refused at {@link #take}.</li>
 * </ul>
 */
public final class RedisSnapshot implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisSnapshot.class);

  private final RedisServer redis;
  private final Path file;
  private final String marker;
  private final long keysAtSave;
  private final long savedNanos;
  private long keysRestored = -1;
  private boolean closed;

  private RedisSnapshot(RedisServer redis, Path file, String marker, long keysAtSave, long savedNanos) {
    this.redis = redis;
    this.file = file;
    this.marker = marker;
    this.keysAtSave = keysAtSave;
    this.savedNanos = savedNanos;
  }

  /**
   * {@code SAVE}s Redis's data now, to the file it loads at start. Keys are counted under {@code keyPrefix} (a cache
   * namespace and its colon; "" for every key).
   */
  public static RedisSnapshot take(RedisServer redis, String keyPrefix) {
    Objects.requireNonNull(redis, "redis");
    Objects.requireNonNull(keyPrefix, "keyPrefix");
    if (!redis.controllable()) {
      throw new IllegalArgumentException("cannot restart " + redis + " from a snapshot: this JVM does not control it");
    }
    String marker = "chaos-snapshot:" + UUID.randomUUID();
    return command(redis, r -> {
      Path dir = Path.of(r.configGet("dir").get("dir"));
      Path file = dir.resolve(r.configGet("dbfilename").get("dbfilename"));
      r.set(marker, "1");
      long keys = count(r, keyPrefix);
      String reply = r.save();
      long saved = System.nanoTime();
      if (!"OK".equals(reply)) {
        throw new IllegalStateException("Redis SAVE answered " + reply);
      }
      r.del(marker);
      if (!Files.isRegularFile(file)) {
        throw new IllegalStateException("Redis SAVE returned but " + file + " is not there");
      }
      log.info("Redis snapshot of {} keys saved to {}", keys, file);
      return new RedisSnapshot(redis, file, marker, keys, saved);
    });
  }

  /**
   * Stops Redis and starts it again on the same port; it loads the snapshot. Returns once it has.
   *
   * @throws IllegalStateException if the restarted Redis does not hold the snapshot's marker
   */
  public void restartFromSnapshot() {
    if (closed) {
      throw new IllegalStateException("snapshot " + file + " was already removed");
    }
    redis.stop();
    redis.start();
    command(redis, r -> {
      if (r.del(marker) != 1) {
        throw new IllegalStateException("Redis restarted without the snapshot " + file + " (marker " + marker
            + " missing): it did not load it");
      }
      return null;
    });
    // The marker proves the snapshot was loaded, so every key it held came back. Counting the namespace now instead
    // would race the system under test: a listener that notices the loss may already have flushed it.
    keysRestored = keysAtSave;
    log.info("Redis restarted from the snapshot of {} ms ago: {} keys restored", ageMillis(), keysRestored);
  }

  private static long count(RedisCommands<String, String> r, String prefix) {
    long n = 0;
    ScanCursor cursor = ScanCursor.INITIAL;
    do {
      KeyScanCursor<String> page = r.scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(1000));
      n += page.getKeys().stream().filter(k -> !k.startsWith("chaos-snapshot:")).count();
      cursor = page;
    } while (!cursor.isFinished());
    return n;
  }

  /** Keys under the prefix when the snapshot was taken. */
  public long keysAtSave() {
    return keysAtSave;
  }

  /** Keys under the prefix right after the restart from the snapshot; -1 before it. */
  public long keysRestored() {
    return keysRestored;
  }

  /** How long ago the snapshot was taken. */
  public long ageMillis() {
    return (System.nanoTime() - savedNanos) / 1_000_000;
  }

  public Path file() {
    return file;
  }

  /** Deletes the snapshot file, so that a later restart starts empty again. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.error("could not delete the Redis snapshot {}: a later restart of Redis would load it", file);
      throw new IllegalStateException("cannot delete the Redis snapshot " + file + ": " + e.getMessage(), e);
    }
  }

  private static <T> T command(RedisServer redis, Function<RedisCommands<String, String>, T> command) {
    RedisClient client = RedisClient.create(redis.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      return command.apply(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }

  @Override
  public String toString() {
    return "RedisSnapshot[" + file + "]";
  }
}
