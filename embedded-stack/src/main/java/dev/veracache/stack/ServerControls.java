package dev.veracache.stack;

/**
 * Fault controls shared by both servers. Embedded servers support all of them; for an external server
 * ({@link #controllable()} false) each throws {@link UnsupportedOperationException} naming the server.
 */
public interface ServerControls {

  /** False for a server this JVM did not start (configured by environment); its controls then throw. */
  boolean controllable();

  /** Stops the process. MariaDB keeps its data directory; Redis loses its data (no persistence). */
  void stop();

  /** Starts again after {@link #stop()}, on the same port, so clients reconnect to the same address. */
  void start();

  /** {@link #stop()} then {@link #start()}. */
  void restart();

  /** SIGSTOP: connections stay open but nothing is answered. */
  void pause();

  /** SIGCONT after {@link #pause()}. */
  void resume();

  /** Started and not stopped (a paused server counts as running). */
  boolean isRunning();

  boolean isPaused();

  /** The OS pid of the server process; -1 for an external server. */
  long pid();
}
