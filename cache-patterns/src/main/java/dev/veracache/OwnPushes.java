package dev.veracache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The pushes this client expects for its own fills and sets, and the thread that brings those values back into L1.
 *
 * <p>Why: Redis 6.2 and 7.0 push a client's own script writes back to it despite NOLOOP (see
 * {@link TrackingSubscription}), so every fill or set this client makes drops the L1 entry it just made. A push names
 * only the key, never who wrote it, and Redis merges the pushes of one key written twice in one event-loop turn: a
 * push can never be trusted to be "only ours". So nothing is kept on the strength of a push. Instead, once the push of
 * an expected key has been applied (the L1 entry dropped like for any push), the key is re-read from Redis like any L2
 * hit: with an L1 ticket taken after that push and before the GET ({@link L1Readmission}). Whatever the push was for,
 * the GET sees every write whose push came before it, and any later write's push refuses or drops the answer (R7).
 *
 * <p>Invariants:
 * <ul>
 *   <li>A push of an expected key always drops the L1 entry first (the subscription applies it before calling
 *       {@link #pushed}); the re-read is extra work, never a reason to skip an invalidation.</li>
 *   <li>An expectation is used once, by the first push of its key after it was made; one never met (the write was
 *       refused, or no push comes: a Redis that honours NOLOOP for scripts) expires after {@code expiry}, or is
 *       cancelled by the writer. A stray re-read is only a GET: it is fenced like any other.</li>
 *   <li>Re-reads run on one daemon thread, never on the connection's event loop (they decode values and may call
 *       Redis); when its queue is full a re-read is dropped and counted, and the key is simply read from Redis next
 *       time.</li>
 * </ul>
 */
final class OwnPushes implements AutoCloseable {

  /** A re-read waiting for its key's push: runs on the re-read thread, or is told it was dropped. */
  interface Readmit extends Runnable {
    void dropped();
  }

  private static final int QUEUE_CAPACITY = 4096;

  private final Cache<String, Readmit> expected;
  private final ThreadPoolExecutor rereads;

  OwnPushes(String endpoint, Duration expiry, long maximumSize) {
    this.expected = Caffeine.newBuilder().expireAfterWrite(expiry).maximumSize(maximumSize).build();
    this.rereads = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE_CAPACITY),
        r -> {
          Thread t = new Thread(r, "veracache-l1-readmit-" + endpoint);
          t.setDaemon(true);
          return t;
        });
  }

  /** Before this client writes {@code redisKey} itself: the next push of the key runs {@code readmit}. */
  void expect(String redisKey, Readmit readmit) {
    expected.put(redisKey, readmit);
  }

  /** The write did not change Redis after all: forget the expectation, if it is still this one. */
  void cancel(String redisKey, Readmit readmit) {
    expected.asMap().remove(redisKey, readmit);
  }

  /** Redis pushed a change of {@code redisKey}, already applied to L1: re-read it if this client expected it. */
  void pushed(String redisKey) {
    Readmit readmit = expected.asMap().remove(redisKey);
    if (readmit == null) {
      return;
    }
    try {
      rereads.execute(readmit);
    } catch (RejectedExecutionException e) {
      readmit.dropped(); // queue full, or the client is closing: the key is read from Redis next time
    }
  }

  /** A flush push or a loss of tracking: no expectation stands (L1 is being cleared anyway). */
  void forgetAll() {
    expected.invalidateAll();
  }

  @Override
  public void close() {
    rereads.shutdownNow();
    expected.invalidateAll();
  }
}
