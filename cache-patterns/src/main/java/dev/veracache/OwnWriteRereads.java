package dev.veracache;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that brings this client's own fills and sets back into L1 after their own push dropped them.
 *
 * <p>Why: Redis 6.2 and 7.0 push a client's own script writes back to it despite NOLOOP (see
 * {@link TrackingSubscription}), so every fill or set this client makes drops the L1 entry it just made. A push names
 * only the key, never who wrote it, and Redis merges the pushes of one key written twice in one event-loop turn: a
 * push can never be trusted to be "only ours", and none is. Instead, after an own write changed Redis, this thread
 * sends a PING on the tracking connection: Redis queues a write's push before any later reply on that connection, so
 * once the PING is answered every push up to the write's own has been applied. Only then does each key's re-read take
 * its L1 ticket and GET the key ({@link L1Readmission}), exactly like an L2 hit: any write whose push comes later
 * refuses or drops the answer (R7), and any earlier one is seen by the GET.
 *
 * <p>Invariants:
 * <ul>
 *   <li>A re-read takes its ticket only after a PING sent after its write returned was answered.</li>
 *   <li>Re-reads run on this one daemon thread, never on the connection's event loop (they decode values and call
 *       Redis), in batches of up to {@value #BATCH} behind one PING. When the queue ({@value #CAPACITY}) is full a
 *       re-read is dropped and counted; the key is then read from Redis by its next read, as without this.</li>
 *   <li>A PING that fails skips its batch (counted): nothing is re-read without it.</li>
 * </ul>
 */
final class OwnWriteRereads implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OwnWriteRereads.class);
  private static final int CAPACITY = 4096;
  private static final int BATCH = 256;

  /** One key's re-read, or what to count when it cannot run. */
  interface Reread extends Runnable {
    void dropped();

    void skipped();
  }

  private final ArrayBlockingQueue<Reread> queue = new ArrayBlockingQueue<>(CAPACITY);
  private final Runnable awaitPushesSoFar;
  private final Thread thread;
  private volatile boolean closed;

  /**
   * {@code awaitPushesSoFar}: returns once every push Redis sent so far was applied (a PING), or throws. Builds only:
   * the thread starts with {@link #start}.
   */
  OwnWriteRereads(String endpoint, Runnable awaitPushesSoFar) {
    this.awaitPushesSoFar = awaitPushesSoFar;
    this.thread = new Thread(this::loop, "veracache-l1-reread-" + endpoint);
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** After an own write changed the key in Redis: re-read it into L1 once its push has been applied. */
  void submit(Reread reread) {
    if (closed || !queue.offer(reread)) {
      reread.dropped();
    }
  }

  private void loop() {
    List<Reread> batch = new ArrayList<>(BATCH);
    while (!closed) {
      try {
        Reread first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, BATCH - 1);
        if (pushesApplied()) {
          batch.forEach(OwnWriteRereads::runOne);
        } else {
          batch.forEach(Reread::skipped);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        batch.clear();
      }
    }
  }

  /** One re-read; one that throws is counted as skipped and the rest of its batch still runs. */
  private static void runOne(Reread reread) {
    try {
      reread.run();
    } catch (RuntimeException e) {
      reread.skipped();
      log.warn("re-reading an own write into L1 failed; the key is read from Redis by its next read", e);
    }
  }

  private boolean pushesApplied() {
    try {
      awaitPushesSoFar.run();
      return true;
    } catch (RuntimeException e) {
      log.debug("PING before re-reading own writes failed: {}", e.getMessage());
      return false;
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    queue.clear();
  }
}
