package dev.veracache.stack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Signals, liveness and the orphan watchdog for server processes (Linux/macOS: uses kill and sh). {@link #signal} is
 * public for the other fault injectors (the chaos module's child JVMs); the rest serves this package.
 */
public final class ProcessControl {

  private ProcessControl() {}

  /**
   * Sends a signal such as STOP or CONT.
   *
   * @throws IllegalStateException naming the signal and the pid if kill failed
   */
  public static void signal(long pid, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
      if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + pid + " failed: "
            + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kill -" + signal + " " + pid, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** util-linux's setsid, where there is one (Debian: /usr/bin/setsid). */
  private static final Optional<String> SETSID = java.util.stream.Stream.of("/usr/bin/setsid", "/bin/setsid")
      .filter(path -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(path))).findFirst();

  /**
   * {@code command} run in a session of its own ({@code setsid}, where installed): a Ctrl-C in the terminal sends
   * SIGINT to the whole foreground process group, so without it a server started by an application run from a
   * terminal (the demo, the chaos main job) dies at once, beside the JVM, instead of being stopped by the JVM after its
   * clients (the CDC listener, the flushers). setsid execs the command in place (a child of the JVM is never a process
   * group leader), so the pid is the server's.
   */
  static java.util.List<String> inOwnSession(java.util.List<String> command) {
    if (SETSID.isEmpty()) {
      return command;
    }
    java.util.List<String> own = new java.util.ArrayList<>(command.size() + 1);
    own.add(SETSID.get());
    own.addAll(command);
    return own;
  }

  static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** The command line of a live process, if the OS tells it. */
  static Optional<String> commandLine(long pid) {
    return ProcessHandle.of(pid).flatMap(h -> h.info().commandLine().or(() -> h.info().command()));
  }

  /** The executable of a live process (on Linux the target of /proc/pid/exe), if the OS tells it. */
  static Optional<String> executable(long pid) {
    return ProcessHandle.of(pid).flatMap(h -> h.info().command());
  }

  /** Waits until the process is gone; false if it is still there after {@code timeout}. */
  static boolean awaitExit(long pid, Duration timeout) {
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return true;
    }
    try {
      handle.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return !handle.get().isAlive();
    }
  }

  /**
   * Starts a tiny shell that kills {@code serverPid} once this JVM is gone, so that even a {@code kill -9} of the JVM
   * leaves no server behind. Destroy the returned process when the server is stopped normally. The shell ends by itself
   * once the server is gone, and kills only the process it was started for: pids wrap (32768 here, and every watchdog
   * forks a {@code sleep} a second), so it compares the pid's start time ({@code /proc/<pid>/stat}) with the one it
   * read at its start before it kills (where there is no {@code /proc}, it kills as before).
   */
  static Process watchdog(long serverPid) {
    long jvm = ProcessHandle.current().pid();
    String startTime = "$(sed 's/.*) //' /proc/" + serverPid + "/stat 2>/dev/null | cut -d' ' -f20)";
    String script = "start=" + startTime + "; while kill -0 " + jvm + " 2>/dev/null; do kill -0 " + serverPid
        + " 2>/dev/null || exit 0; sleep 1; done; { [ -z \"$start\" ] || [ \"" + startTime + "\" = \"$start\" ]; } && kill -9 "
        + serverPid + " 2>/dev/null";
    try {
      return new ProcessBuilder(inOwnSession(java.util.List.of("sh", "-c", script))).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start the orphan watchdog for pid " + serverPid, e);
    }
  }
}
