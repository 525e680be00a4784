package dev.veracache.internal;

import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits, for any number of callers, until the replicas hold the writes one connection sent ({@code WAIT}), without
 * holding that connection. Redis answers a WAIT for every write its connection sent before it, and answers no later
 * command of the connection until then: one WAIT per caller, each for as long as the caller may wait, would queue
 * behind each other while a replica is missing and time out every read and script behind them.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>At most one WAIT of this waiter is in flight</b> on its connection.</li>
 *   <li><b>Each WAIT asks Redis to wait at most {@value #SLICE_MILLIS} ms</b>: a command sent behind it waits no longer
 *       than that for it, however many callers wait and however long the replicas take.</li>
 *   <li><b>A caller is answered by the first WAIT sent after it asked</b> that reports enough replicas: that WAIT
 *       covers the caller's write, which was taken before it asked. Until its deadline the caller's turn comes again;
 *       at the deadline it gets the most replicas any such WAIT reported.</li>
 * </ul>
 */
final class ReplicationWaiter {

  static final long SLICE_MILLIS = 10;

  /** One caller: covered by WAITs numbered {@code firstWait} and later; {@code seen}: the most replicas they reported. */
  private static final class Caller {
    final long firstWait;
    final int replicas;
    final CompletableFuture<Long> answer = new CompletableFuture<>();
    volatile long seen;

    Caller(long firstWait, int replicas) {
      this.firstWait = firstWait;
      this.replicas = replicas;
    }
  }

  private final StatefulRedisConnection<String, byte[]> connection;
  private final List<Caller> callers = new ArrayList<>(); // guarded by this
  private long waitsSent; // guarded by this
  private boolean inFlight; // guarded by this

  ReplicationWaiter(StatefulRedisConnection<String, byte[]> connection) {
    this.connection = connection;
  }

  /**
   * Asks that {@code replicas} replicas hold every write this connection sent before the call; {@link Request#await}
   * returns the answer. Asking before awaiting lets one thread wait on several connections side by side.
   */
  Request request(int replicas) {
    Caller caller;
    synchronized (this) {
      caller = new Caller(waitsSent + 1, replicas);
      callers.add(caller);
      if (!inFlight) {
        sendWait();
      }
    }
    return new Request(caller);
  }

  /** One caller's request ({@link #request}). */
  final class Request {
    private final Caller caller;

    private Request(Caller caller) {
      this.caller = caller;
    }

    /**
     * Returns once enough replicas hold the writes, or at {@code deadlineNanos} ({@link System#nanoTime}); either way
     * the most replicas seen to hold them.
     *
     * @throws RuntimeException as Lettuce raised it when a WAIT failed (the connection dropped, say)
     */
    long await(long deadlineNanos) {
      try {
        return caller.answer.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        return caller.seen;
      } catch (ExecutionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return caller.seen;
      } finally {
        synchronized (ReplicationWaiter.this) {
          callers.remove(caller);
        }
      }
    }
  }

  /** Sends the next WAIT for the most replicas a caller wants. Holding the lock. */
  private void sendWait() {
    int wanted = 0;
    for (Caller caller : callers) {
      wanted = Math.max(wanted, caller.replicas);
    }
    long number = ++waitsSent;
    inFlight = true;
    connection.async().waitForReplication(wanted, SLICE_MILLIS).whenComplete((acked, failure) -> answered(number,
        acked, failure));
  }

  private synchronized void answered(long number, Long acked, Throwable failure) {
    inFlight = false;
    for (Caller caller : callers) {
      if (caller.firstWait > number) {
        continue; // asked after this WAIT was sent: its write may not be covered
      }
      if (failure != null) {
        caller.answer.completeExceptionally(failure);
      } else {
        caller.seen = Math.max(caller.seen, acked);
        if (acked >= caller.replicas) {
          caller.answer.complete(acked);
        }
      }
    }
    callers.removeIf(caller -> caller.answer.isDone());
    if (!callers.isEmpty()) {
      sendWait();
    }
  }
}
