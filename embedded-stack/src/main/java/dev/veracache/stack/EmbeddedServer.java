package dev.veracache.stack;

import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the embedded servers share: a fixed port and private directory, start/stop that are idempotent, SIGSTOP/SIGCONT
 * pause, and the orphan watchdog that is started with each server process and stopped with it.
 */
abstract class EmbeddedServer implements ServerControls {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedServer.class);

  final Path dir;
  final int port;
  private long pid = -1;
  private Process watchdog;
  private long watchdogPid = -1;
  private volatile boolean paused;

  EmbeddedServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /**
   * Starts the server process, waits until it answers, returns its pid. Calls {@link #spawned(long)} as soon as the
   * process exists, so that the watchdog also covers the wait.
   */
  abstract long startProcess();

  /**
   * The server process exists (it may not answer yet): its orphan watchdog starts now, not once it answers, so a JVM
   * that dies during a slow start (a Kafka broker takes seconds) leaves no server behind.
   */
  final void spawned(long serverPid) {
    if (watchdog != null && watchdogPid == serverPid) {
      return;
    }
    stopWatchdog(); // a launch that failed (Redis's exit-126 retry): its watchdog named a process that is gone
    watchdog = ProcessControl.watchdog(serverPid);
    watchdogPid = serverPid;
  }

  private void stopWatchdog() {
    if (watchdog != null) {
      watchdog.destroy();
      watchdog = null;
    }
  }

  /** Stops the server process (it is not paused) and waits until it is gone. */
  abstract void stopProcess(long pid);

  @Override
  public final synchronized void start() {
    if (pid > 0) {
      return;
    }
    StackConfig.refuseInUnitTier(toString());
    long started = System.nanoTime();
    try {
      pid = startProcess();
    } catch (RuntimeException e) {
      watchdog = null; // it keeps watching the failed process until this JVM is gone; the next start gets its own
      throw e;
    }
    spawned(pid); // for a subclass that did not
    paused = false;
    log.info("{} started (pid {}) in {} ms", this, pid, (System.nanoTime() - started) / 1_000_000);
  }

  @Override
  public final synchronized void stop() {
    if (pid <= 0) {
      return;
    }
    if (paused) {
      ProcessControl.signal(pid, "CONT");
      paused = false;
    }
    stopProcess(pid);
    stopWatchdog();
    pid = -1;
    log.info("{} stopped", this);
  }

  /**
   * SIGKILL (also of a paused server): no clean shutdown. Waits until the process is gone; {@link #start()} then
   * starts it again on the same port and directory. Servers whose data survives this (Kafka) expose it as a control.
   */
  final synchronized void sigkill() {
    if (pid <= 0) {
      return;
    }
    ProcessControl.signal(pid, "KILL");
    if (!ProcessControl.awaitExit(pid, java.time.Duration.ofSeconds(10))) {
      throw new IllegalStateException(this + " (pid " + pid + ") still runs 10 s after SIGKILL");
    }
    processKilled();
    stopWatchdog();
    pid = -1;
    paused = false;
    log.info("{} killed (SIGKILL)", this);
  }

  /** After {@link #sigkill()}: forget the dead process (the next {@link #startProcess()} starts a new one). */
  void processKilled() {}

  @Override
  public final void restart() {
    stop();
    start();
  }

  @Override
  public final synchronized void pause() {
    ProcessControl.signal(requireRunning(), "STOP");
    paused = true;
  }

  @Override
  public final synchronized void resume() {
    ProcessControl.signal(requireRunning(), "CONT");
    paused = false;
  }

  private long requireRunning() {
    if (pid <= 0) {
      throw new IllegalStateException(this + " is stopped");
    }
    return pid;
  }

  @Override
  public final boolean controllable() {
    return true;
  }

  @Override
  public final synchronized boolean isRunning() {
    return pid > 0;
  }

  @Override
  public final boolean isPaused() {
    return paused;
  }

  @Override
  public final synchronized long pid() {
    return pid;
  }

  public final String host() {
    return "127.0.0.1";
  }

  public final int port() {
    return port;
  }
}
