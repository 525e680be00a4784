package dev.veracache.benchmarks.peers;

import dev.veracache.stack.EmbeddedStack;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What every peer's JMH state shares: one embedded stack per trial, the peer's clients started on it, and, if anything
 * fails to start, everything closed again (no server left behind). A subclass is a {@code @State} and says how its
 * clients start and close.
 */
public abstract class PeerState {

  EmbeddedStack stack;

  /** Starts the stack, then the clients; if anything fails, closes what was started. */
  @Setup(Level.Trial)
  public void setUp() throws Exception {
    stack = EmbeddedStack.start();
    try {
      start();
    } catch (Exception | Error e) {
      tearDown();
      throw e;
    }
  }

  /** Starts the peer's clients on {@link #stack}. */
  abstract void start() throws Exception;

  /** Closes the peer's clients; any of them may be null (the start failed half way). */
  abstract void closeClients();

  @TearDown(Level.Trial)
  public void tearDown() {
    try {
      closeClients();
    } finally {
      if (stack != null) {
        stack.close();
      }
    }
  }
}
