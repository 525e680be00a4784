package dev.veracache.chaos.fault;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parent-side handle of a {@link HeapWriteBehindMain} child JVM: the R8 "write-behind crash" baseline. The child
 * acknowledges puts that sit in its heap until the next flush; {@link #kill()} sends SIGKILL, and
 * {@link #lostWrites} counts the acknowledged writes the database never got.
 *
 * <p>Invariants: {@link #acks()} holds the child's ACK lines in the order printed, each stamped with the parent's
 * {@link System#nanoTime()} when read; after {@link #kill()} returns the child is dead and its stdout was read to EOF,
 * so the list is final. The password travels only in the child's environment and never appears in a message: not in
 * {@link Spec#toString()}, and it is masked in the child's output quoted by errors. The child halts when its stdin
 * closes, so it cannot outlive this JVM even if {@link #close()} never runs.
 */
public final class HeapWriteBehindProcess implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HeapWriteBehindProcess.class);
  private static final int RECENT_LINES = 50;
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PIPE_DRAIN_TIMEOUT = Duration.ofSeconds(10);
  private static final List<String> CHILD_JVM_FLAGS = List.of("-Xmx128m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1");

  /** One acknowledged put: {@code ackNanos} is {@link System#nanoTime()} in the parent when the line was read. */
  public record Ack(String key, long version, long ackNanos) {}

  /** The child's configuration; {@link #toString()} masks the password. */
  public record Spec(String jdbcUrl, String user, String password, String table, int keys, int putsPerSecond,
      long flushIntervalMillis, long seed) {

    public Spec {
      Objects.requireNonNull(jdbcUrl, "jdbcUrl");
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      Objects.requireNonNull(table, "table");
    }

    @Override
    public String toString() {
      return "Spec[jdbcUrl=" + jdbcUrl + ", user=" + user + ", password=***, table=" + table + ", keys=" + keys
          + ", putsPerSecond=" + putsPerSecond + ", flushIntervalMillis=" + flushIntervalMillis + ", seed=" + seed
          + "]";
    }
  }

  private final Process process;
  private final String password;
  private final List<Ack> acks = new ArrayList<>();
  private final ChildJvm.OutputTail recentOutput = new ChildJvm.OutputTail(RECENT_LINES);
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Thread stdoutReader;
  private final Thread stderrReader;
  private boolean killed;

  private HeapWriteBehindProcess(Process process, String password) {
    this.process = process;
    this.password = password;
    this.stdoutReader = daemon("writebehind-stdout-" + process.pid(), () -> readStdout(process.getInputStream()));
    this.stderrReader = daemon("writebehind-stderr-" + process.pid(), () -> readStderr(process.getErrorStream()));
  }

  /**
   * Starts the child and waits until it printed READY.
   *
   * @throws IllegalStateException if the child exits or stays silent first; the message quotes its last output
   * @throws UncheckedIOException if the JVM cannot be launched
   */
  public static HeapWriteBehindProcess start(Spec spec, Duration readyTimeout) {
    List<String> command = ChildJvm.javaCommand(CHILD_JVM_FLAGS);
    command.add(property(HeapWriteBehindMain.JDBC_URL, spec.jdbcUrl()));
    command.add(property(HeapWriteBehindMain.USER, spec.user()));
    command.add(property(HeapWriteBehindMain.TABLE, spec.table()));
    command.add(property(HeapWriteBehindMain.KEYS, spec.keys()));
    command.add(property(HeapWriteBehindMain.PUTS_PER_SECOND, spec.putsPerSecond()));
    command.add(property(HeapWriteBehindMain.FLUSH_INTERVAL_MILLIS, spec.flushIntervalMillis()));
    command.add(property(HeapWriteBehindMain.SEED, spec.seed()));
    command.add(HeapWriteBehindMain.class.getName());
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put(HeapWriteBehindMain.PASSWORD_ENV, spec.password());
    long started = System.nanoTime();
    Process process;
    try {
      process = builder.start(); // stdin stays an open pipe: the child halts when it closes
    } catch (IOException e) {
      throw new UncheckedIOException("cannot launch the write-behind child JVM: " + e.getMessage(), e);
    }
    HeapWriteBehindProcess child = new HeapWriteBehindProcess(process, spec.password());
    child.awaitReady(readyTimeout);
    log.info("write-behind child pid {} ready in {} ms: {}", process.pid(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), spec);
    return child;
  }

  private static String property(String name, Object value) {
    return "-D" + name + "=" + value;
  }

  private void awaitReady(Duration timeout) {
    try {
      ready.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return;
    } catch (TimeoutException e) {
      kill();
      throw new IllegalStateException("write-behind child pid " + pid() + " not READY within " + timeout
          + "; last output: " + recentOutput());
    } catch (ExecutionException e) {
      // stdout ended before READY: the child is exiting; let it finish so its own exit code is reported
    } catch (InterruptedException e) {
      kill();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for write-behind child pid " + pid());
    }
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    kill();
    throw new IllegalStateException("write-behind child pid " + pid() + " exited with code " + process.exitValue()
        + " before READY; last output: " + recentOutput());
  }

  /** All ACK lines read so far, in order; final once {@link #kill()} returned. */
  public List<Ack> acks() {
    synchronized (acks) {
      return List.copyOf(acks);
    }
  }

  /** SIGKILL now, wait for the exit and read the child's output to EOF. Idempotent. */
  public void kill() {
    synchronized (this) {
      if (!killed) {
        killed = true;
        if (process.isAlive()) {
          process.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no last flush
          log.info("write-behind child pid {} killed with SIGKILL after {} acks", pid(), acks().size());
        }
      }
    }
    boolean interrupted = false;
    long deadline = System.nanoTime() + EXIT_TIMEOUT.toNanos();
    while (process.isAlive() && System.nanoTime() < deadline) {
      try {
        process.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        interrupted = true; // finish the wait: callers rely on a dead child when kill() returns
      }
    }
    try {
      if (process.isAlive()) {
        throw new IllegalStateException("write-behind child pid " + pid() + " survived SIGKILL for " + EXIT_TIMEOUT);
      }
      interrupted |= join(stdoutReader);
      interrupted |= join(stderrReader);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Waits for a pipe reader to reach EOF; returns whether this thread was interrupted meanwhile. */
  private boolean join(Thread reader) {
    boolean interrupted = false;
    long deadline = System.nanoTime() + PIPE_DRAIN_TIMEOUT.toNanos();
    while (reader.isAlive() && System.nanoTime() < deadline) {
      try {
        reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (reader.isAlive()) {
      log.warn("{} did not reach EOF within {}", reader.getName(), PIPE_DRAIN_TIMEOUT);
    }
    return interrupted;
  }

  public long pid() {
    return process.pid();
  }

  /** Kills the child if it is alive; idempotent. */
  @Override
  public void close() {
    kill();
  }

  /**
   * Acknowledged writes the database does not have: for each key, the acks whose version is above the key's
   * committed version. {@code committedVersion} is asked once per distinct key; order of {@code acks} is kept.
   */
  public static List<Ack> lostWrites(List<Ack> acks, ToLongFunction<String> committedVersion) {
    Map<String, Long> committed = new HashMap<>();
    List<Ack> lost = new ArrayList<>();
    for (Ack ack : acks) {
      long version = committed.computeIfAbsent(ack.key(), committedVersion::applyAsLong);
      if (ack.version() > version) {
        lost.add(ack);
      }
    }
    return List.copyOf(lost);
  }

  private void readStdout(InputStream stdout) {
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(stdout, StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        long now = System.nanoTime();
        Ack ack = parseAck(line, now);
        if (ack != null) {
          synchronized (acks) {
            acks.add(ack);
          }
        } else if (line.equals(HeapWriteBehindMain.READY)) {
          ready.complete(null);
        } else {
          remember(line);
          log.debug("child {}: {}", pid(), masked(line));
        }
      }
    } catch (IOException e) {
      remember("(stdout read failed: " + e.getMessage() + ")");
    } finally {
      ready.completeExceptionally(new IllegalStateException("stdout ended"));
    }
  }

  private void readStderr(InputStream stderr) {
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        remember("stderr: " + line);
        log.warn("child {} stderr: {}", pid(), masked(line));
      }
    } catch (IOException e) {
      remember("(stderr read failed: " + e.getMessage() + ")");
    }
  }

  /** {@code ACK <key> <version>}, or null if the line is anything else. */
  private static Ack parseAck(String line, long nanos) {
    String[] parts = line.split(" ");
    if (parts.length != 3 || !parts[0].equals(HeapWriteBehindMain.ACK)) {
      return null;
    }
    try {
      return new Ack(parts[1], Long.parseLong(parts[2]), nanos);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private void remember(String line) {
    recentOutput.add(line);
  }

  /** The child's last non-ACK lines, password masked. */
  private String recentOutput() {
    List<String> lines = recentOutput.lines();
    return lines.isEmpty() ? "(none)" : lines.stream().map(this::masked).collect(Collectors.joining(" | ", "[", "]"));
  }

  private String masked(String text) {
    return password.isEmpty() ? text : text.replace(password, "***");
  }

  private static Thread daemon(String name, Runnable work) {
    Thread thread = new Thread(work, name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }
}
