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
 * Parent-side handle of a write-behind child JVM of R8 "write-behind crash": the heap-queue baseline
 * ({@link HeapWriteBehindMain}, {@link #start}), or Veracache's write-behind on Kafka, its producer
 * ({@link #startProducer}) or its flusher ({@link #startFlusher}) ({@link VeracacheWriteBehindMain}). A producer
 * acknowledges puts; {@link #kill()} sends SIGKILL, and {@link #lostWrites} counts the acknowledged writes the database
 * never got.
 *
 * <p>Invariants: {@link #acks()} holds the child's ACK lines in the order printed, each stamped with the parent's
 * {@link System#nanoTime()} when read, and {@link #failedPuts()} counts its FAIL lines (puts that threw: never
 * acknowledged); after {@link #kill()} returns the child is dead and its stdout was read to EOF, so both are final.
 * The password travels only in the child's environment and never appears in a message: not in
 * {@link Spec#toString()}, and it is masked in the child's output quoted by errors. The child halts when its stdin
 * closes, so it cannot outlive this JVM even if {@link #close()} never runs.
 */
public final class WriteBehindProcess implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WriteBehindProcess.class);
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
  private final java.util.concurrent.atomic.AtomicInteger failedPuts = new java.util.concurrent.atomic.AtomicInteger();
  private final ChildJvm.OutputTail recentOutput = new ChildJvm.OutputTail(RECENT_LINES);
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Thread stdoutReader;
  private final Thread stderrReader;
  private boolean killed;

  private WriteBehindProcess(Process process, String password) {
    this.process = process;
    this.password = password;
    this.stdoutReader = daemon("writebehind-stdout-" + process.pid(), () -> readStdout(process.getInputStream()));
    this.stderrReader = daemon("writebehind-stderr-" + process.pid(), () -> readStderr(process.getErrorStream()));
  }

  /**
   * Starts the heap-queue write-behind child and waits until it printed READY.
   *
   * @throws IllegalStateException if the child exits or stays silent first; the message quotes its last output
   * @throws UncheckedIOException if the JVM cannot be launched
   */
  public static WriteBehindProcess start(Spec spec, Duration readyTimeout) {
    List<String> properties = new ArrayList<>();
    properties.add(property(HeapWriteBehindMain.JDBC_URL, spec.jdbcUrl()));
    properties.add(property(HeapWriteBehindMain.USER, spec.user()));
    properties.add(property(HeapWriteBehindMain.TABLE, spec.table()));
    properties.add(property(HeapWriteBehindMain.KEYS, spec.keys()));
    properties.add(property(HeapWriteBehindMain.PUTS_PER_SECOND, spec.putsPerSecond()));
    properties.add(property(HeapWriteBehindMain.FLUSH_INTERVAL_MILLIS, spec.flushIntervalMillis()));
    properties.add(property(HeapWriteBehindMain.SEED, spec.seed()));
    return start("heap write-behind", properties, HeapWriteBehindMain.class, spec.password(), readyTimeout,
        spec.toString());
  }

  /** Where Veracache's write-behind children find Redis, the log, and the cache's namespace. */
  public record LogSpec(String redisUri, String bootstrapServers, String topic, String namespace) {
    public LogSpec {
      Objects.requireNonNull(redisUri, "redisUri");
      Objects.requireNonNull(bootstrapServers, "bootstrapServers");
      Objects.requireNonNull(topic, "topic");
      Objects.requireNonNull(namespace, "namespace");
    }
  }

  /**
   * Starts a Veracache write-behind producer child ({@link VeracacheWriteBehindMain}) putting over {@code keys} keys
   * at {@code putsPerSecond}, and waits until it printed READY.
   *
   * @throws IllegalStateException if the child exits or stays silent first; the message quotes its last output
   */
  public static WriteBehindProcess startProducer(LogSpec log, int keys, int putsPerSecond, long seed,
      Duration readyTimeout) {
    List<String> properties = veracacheProperties(log, VeracacheWriteBehindMain.Role.PRODUCER);
    properties.add(property(HeapWriteBehindMain.KEYS, keys));
    properties.add(property(HeapWriteBehindMain.PUTS_PER_SECOND, putsPerSecond));
    properties.add(property(HeapWriteBehindMain.SEED, seed));
    return start("write-behind producer", properties, VeracacheWriteBehindMain.class, "", readyTimeout,
        log + ", keys=" + keys + ", putsPerSecond=" + putsPerSecond + ", seed=" + seed);
  }

  /**
   * Starts a Veracache write-behind flusher child of consumer group {@code group} that applies the log to
   * {@code table}, and waits until it printed READY.
   *
   * @throws IllegalStateException if the child exits or stays silent first; the message quotes its last output
   */
  public static WriteBehindProcess startFlusher(LogSpec log, String group, String jdbcUrl, String user,
      String password, String table, Duration readyTimeout) {
    List<String> properties = veracacheProperties(log, VeracacheWriteBehindMain.Role.FLUSHER);
    properties.add(property(VeracacheWriteBehindMain.GROUP_PROPERTY, group));
    properties.add(property(HeapWriteBehindMain.JDBC_URL, jdbcUrl));
    properties.add(property(HeapWriteBehindMain.USER, user));
    properties.add(property(HeapWriteBehindMain.TABLE, table));
    return start("write-behind flusher", properties, VeracacheWriteBehindMain.class, password, readyTimeout,
        log + ", group=" + group + ", jdbcUrl=" + jdbcUrl + ", user=" + user + ", password=***, table=" + table);
  }

  private static List<String> veracacheProperties(LogSpec log, VeracacheWriteBehindMain.Role role) {
    List<String> properties = new ArrayList<>();
    properties.add(property(VeracacheWriteBehindMain.ROLE, role.name().toLowerCase(java.util.Locale.ROOT)));
    properties.add(property(VeracacheWriteBehindMain.REDIS_URI, log.redisUri()));
    properties.add(property(VeracacheWriteBehindMain.BOOTSTRAP, log.bootstrapServers()));
    properties.add(property(VeracacheWriteBehindMain.TOPIC, log.topic()));
    properties.add(property(VeracacheWriteBehindMain.NAMESPACE, log.namespace()));
    return properties;
  }

  private static WriteBehindProcess start(String what, List<String> properties, Class<?> main, String password,
      Duration readyTimeout, String description) {
    List<String> command = ChildJvm.javaCommand(CHILD_JVM_FLAGS);
    command.addAll(properties);
    command.add(main.getName());
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put(HeapWriteBehindMain.PASSWORD_ENV, password);
    long started = System.nanoTime();
    Process process;
    try {
      process = builder.start(); // stdin stays an open pipe: the child halts when it closes
    } catch (IOException e) {
      throw new UncheckedIOException("cannot launch the " + what + " child JVM: " + e.getMessage(), e);
    }
    WriteBehindProcess child = new WriteBehindProcess(process, password);
    child.awaitReady(readyTimeout);
    log.info("{} child pid {} ready in {} ms: {}", what, process.pid(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), description);
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

  /** How many FAIL lines (puts that threw, not acknowledged) were read so far; final once {@link #kill()} returned. */
  public int failedPuts() {
    return failedPuts.get();
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
        } else if (line.startsWith(VeracacheWriteBehindMain.FAIL + " ")) {
          failedPuts.incrementAndGet();
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
