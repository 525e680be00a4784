package dev.veracache.chaos.fault;

import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.stack.ClassDataArchive;
import dev.veracache.stack.ProcessControl;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parent side of a CDC listener running in its own JVM ({@link CdcInvalidatorMain}): start it and wait for
 * {@code LIVE}, then SIGKILL it, SIGSTOP/SIGCONT it, or make it crash between reading and applying a batch (R6).
 * A restart is {@link #start} again with the same {@link Spec}: the same state directory resumes from the last
 * acknowledged binlog position, a fresh one starts from the current position (and so misses what was written while
 * no listener ran: the naive baseline).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The child never outlives this JVM.</b> Its stdin is a pipe this handle keeps open and never writes to;
 *       when it closes (here in {@link #close()}, or because this JVM died, even by SIGKILL) the child halts.</li>
 *   <li><b>The child never blocks on output.</b> Two daemon threads drain its stdout and stderr to the end; the last
 *       {@value #TAIL_LINES} lines are kept for error messages.</li>
 *   <li><b>Secrets travel only in the child's environment</b> (never on its command line, which {@code ps} shows),
 *       and are masked in every message this class builds from the child's output.</li>
 *   <li><b>{@link #start} returns only a live child</b>: one that printed {@code LIVE}, i.e. whose readiness marker
 *       came back through the binlog. Otherwise the child is killed and the exception names the listener and carries
 *       its last output lines.</li>
 *   <li><b>{@link #kill()} and {@link #pause()} return once they took effect</b> (process gone; process stopped, where
 *       /proc tells), so a write made after them is certainly not seen by the child before a restart/resume.</li>
 *   <li><b>The class-data archive only changes the start time.</b> Children map a shared {@link ClassDataArchive}
 *       (the Debezium engine's classes: start to live in about half the time); the first child on a class path writes
 *       it at exit, and it is published only if that child was live and exited by itself (a child killed, or one that
 *       failed before live, would leave a partial or short archive). A child that cannot map it starts as without.
 *       Its class path has its jars first ({@link ClassDataArchive#jarsFirst}): the chaos module's directories hold
 *       no class or resource that a jar also holds.</li>
 * </ul>
 * Signals are sent with {@code kill(1)}: Linux and macOS only.
 */
public final class CdcInvalidatorProcess implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidatorProcess.class);
  private static final int TAIL_LINES = 50;
  private static final Duration POLITE_STOP = Duration.ofSeconds(5);
  private static final Duration KILL_WAIT = Duration.ofSeconds(10);
  /** How long a child writing the class-data archive gets to stop after its stdin closed (the dump takes seconds). */
  private static final Duration POLITE_STOP_WRITING = Duration.ofSeconds(60);
  /** The child's JVM options but the per-start {@code -D} properties; part of the class-data archive's key. */
  static final List<String> JVM_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Dlogback.configurationFile=logback.xml"); // the chaos module's quiet logging, not logback-test.xml
  /** Where the listener's class-data archives are kept; default {@code ${java.io.tmpdir}/veracache-listener-cds}. */
  public static final String ARCHIVE_DIRECTORY_PROPERTY = "veracache.listener.cds.dir";

  /**
   * What the child runs. {@code versionColumn} may be null; {@code dbPassword} and {@code redisUri} are secrets.
   * {@code firstStart} is what the listener does without a stored position (a fresh state directory): the durable
   * listener flushes its namespace (the default), the forgetful baseline declares a fresh install and flushes nothing.
   * {@code progressInterval} is how often it publishes its progress (null: the library's default). {@code redisUri}
   * is one Redis's URI or a cluster's address ({@code RedisReader.clusterAddress} of its seeds). With {@code kafka}
   * the listener reads the change stream from Kafka (its Kafka mode) instead of the binlog (null: the binlog).
   */
  public record Spec(String dbHost, int dbPort, String dbUser, String dbPassword, String database, String table,
      String namespace, List<String> keyTemplates, String versionColumn /* nullable */, long serverId, String name,
      Path stateDirectory, String redisUri, CdcOptions.FirstStartPolicy firstStart,
      Duration progressInterval /* nullable */, KafkaSource kafka /* nullable */) {

    public Spec {
      Objects.requireNonNull(dbHost, "dbHost");
      Objects.requireNonNull(dbUser, "dbUser");
      Objects.requireNonNull(database, "database");
      Objects.requireNonNull(table, "table");
      Objects.requireNonNull(namespace, "namespace");
      keyTemplates = List.copyOf(Objects.requireNonNull(keyTemplates, "keyTemplates"));
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(stateDirectory, "stateDirectory");
      Objects.requireNonNull(redisUri, "redisUri");
      Objects.requireNonNull(firstStart, "firstStart");
      if (kafka != null && !kafka.consumerProperties().keySet().stream()
          .allMatch(CdcInvalidatorMain.GROUP_INSTANCE_ID::equals)) {
        throw new IllegalArgumentException("listener " + name + ": its own JVM takes no Kafka consumer setting but "
            + CdcInvalidatorMain.GROUP_INSTANCE_ID + ", was " + kafka.consumerProperties().keySet());
      }
      if (progressInterval != null && (progressInterval.isNegative() || progressInterval.isZero())) {
        throw new IllegalArgumentException("listener " + name + ": progressInterval must be positive, was "
            + progressInterval);
      }
      dbPassword = dbPassword == null ? "" : dbPassword;
    }

    /** A listener with the given first-start policy and the library's progress interval. */
    public Spec(String dbHost, int dbPort, String dbUser, String dbPassword, String database, String table,
        String namespace, List<String> keyTemplates, String versionColumn, long serverId, String name,
        Path stateDirectory, String redisUri, CdcOptions.FirstStartPolicy firstStart) {
      this(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn, serverId, name,
          stateDirectory, redisUri, firstStart, null, null);
    }

    /** A durable listener: without a stored position it flushes its namespace once live. */
    public Spec(String dbHost, int dbPort, String dbUser, String dbPassword, String database, String table,
        String namespace, List<String> keyTemplates, String versionColumn, long serverId, String name,
        Path stateDirectory, String redisUri) {
      this(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn, serverId, name,
          stateDirectory, redisUri, CdcOptions.FirstStartPolicy.FLUSH_NAMESPACES);
    }

    /** The same listener with another state directory (a fresh one forgets the position). */
    public Spec withStateDirectory(Path directory) {
      return new Spec(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn,
          serverId, name, directory, redisUri, firstStart, progressInterval, kafka);
    }

    /** The same listener with another first-start policy. */
    public Spec withFirstStart(CdcOptions.FirstStartPolicy policy) {
      return new Spec(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn,
          serverId, name, stateDirectory, redisUri, policy, progressInterval, kafka);
    }

    /** The same listener publishing its progress every {@code interval}. */
    public Spec withProgressInterval(Duration interval) {
      return new Spec(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn,
          serverId, name, stateDirectory, redisUri, firstStart, interval, kafka);
    }

    /** The same listener reading the change stream from {@code source} (Kafka mode). */
    public Spec withKafka(KafkaSource source) {
      return new Spec(dbHost, dbPort, dbUser, dbPassword, database, table, namespace, keyTemplates, versionColumn,
          serverId, name, stateDirectory, redisUri, firstStart, progressInterval, source);
    }

    /** The child's {@code -D} properties (no secrets). */
    Map<String, String> properties() {
      Map<String, String> p = new LinkedHashMap<>();
      p.put("dbHost", dbHost);
      p.put("dbPort", Integer.toString(dbPort));
      p.put("dbUser", dbUser);
      p.put("database", database);
      p.put("table", table);
      p.put("namespace", namespace);
      p.put("keyTemplates", String.join(",", keyTemplates));
      if (versionColumn != null) {
        p.put("versionColumn", versionColumn);
      }
      p.put("serverId", Long.toString(serverId));
      p.put("name", name);
      p.put("stateDirectory", stateDirectory.toAbsolutePath().toString());
      p.put("firstStart", firstStart.name());
      if (progressInterval != null) {
        p.put("progressIntervalMillis", Long.toString(progressInterval.toMillis()));
      }
      if (kafka != null) {
        p.put("kafkaBootstrapServers", kafka.bootstrapServers());
        if (kafka.groupId() != null) {
          p.put("kafkaGroupId", kafka.groupId());
        }
        p.put("kafkaTopicPattern", kafka.topicPattern().pattern());
        p.put("kafkaTopicRefreshMillis", Long.toString(kafka.topicRefresh().toMillis()));
        String instance = kafka.consumerProperties().get(CdcInvalidatorMain.GROUP_INSTANCE_ID);
        if (instance != null) {
          p.put("kafkaGroupInstanceId", instance);
        }
      }
      return p;
    }

    /** The child's environment additions: the secrets. */
    Map<String, String> environment() {
      return Map.of(CdcInvalidatorMain.DB_PASSWORD_ENV, dbPassword, CdcInvalidatorMain.REDIS_URI_ENV, redisUri);
    }

    String mask(String text) {
      String masked = text;
      List<String> secrets = new ArrayList<>(CdcInvalidatorMain.redisSecrets(redisUri));
      secrets.add(dbPassword);
      for (String secret : secrets) {
        if (!secret.isEmpty()) {
          masked = masked.replace(secret, "***");
        }
      }
      return masked;
    }

    @Override
    public String toString() {
      return "Spec[" + name + " on " + dbHost + ":" + dbPort + "/" + database + "." + table + ", state "
          + stateDirectory + "]";
    }
  }

  private final Spec spec;
  private final Process process;
  private final Path crashFile;
  private final OutputStream stdin;
  private final ChildJvm.OutputTail tail = new ChildJvm.OutputTail(TAIL_LINES);
  private final CountDownLatch live = new CountDownLatch(1);
  private final List<Thread> drains = new ArrayList<>();
  private final ClassDataArchive archive;
  private volatile boolean paused;
  private boolean closed;
  /** Invalidations of the workload's keys this child applied (its {@code APPLIED} lines), and when the last came. */
  private final AtomicLong applied = new AtomicLong();
  private volatile long lastAppliedNanos;

  private CdcInvalidatorProcess(Spec spec, Process process, Path crashFile, ClassDataArchive archive) {
    this.spec = spec;
    this.process = process;
    this.crashFile = crashFile;
    this.archive = archive;
    this.stdin = process.getOutputStream();
    drains.add(drain(process.getInputStream(), true, "stdout"));
    drains.add(drain(process.getErrorStream(), false, "stderr"));
  }

  /**
   * Starts a child JVM running CdcInvalidatorMain and waits until it printed LIVE; throws (naming the listener, with the
   * child's last output lines, never the secrets) if it failed or timed out.
   */
  public static CdcInvalidatorProcess start(Spec spec, Duration liveTimeout) {
    Objects.requireNonNull(spec, "spec");
    long started = System.nanoTime();
    Path crashFile = Path.of(System.getProperty("java.io.tmpdir"),
        "veracache-listener-" + spec.name() + "-" + UUID.randomUUID() + ".crash");
    Map<String, String> properties = new LinkedHashMap<>(spec.properties());
    properties.put("crashFile", crashFile.toString());
    ClassDataArchive archive = classDataArchive();
    CdcInvalidatorProcess child;
    try {
      child = new CdcInvalidatorProcess(spec,
          childProcess(properties, spec.environment(), archive.optionsForStart()).start(), crashFile, archive);
    } catch (IOException e) {
      archive.exited(false);
      throw new IllegalStateException("listener " + spec.name() + ": cannot start its JVM: " + e.getMessage(), e);
    }
    child.awaitLive(liveTimeout);
    log.info("listener {} (pid {}) live in {} ms{}", spec.name(), child.pid(),
        (System.nanoTime() - started) / 1_000_000, archive.writing() ? " (writes the class-data archive at exit)" : "");
    return child;
  }

  /** The class-data archive for a child on this JVM's class path, in {@link #ARCHIVE_DIRECTORY_PROPERTY}'s directory. */
  static ClassDataArchive classDataArchive() {
    return new ClassDataArchive(archiveDirectory(), "listener", childClassPath(), JVM_OPTIONS);
  }

  /**
   * Where the listener's class-data archives are: {@link #ARCHIVE_DIRECTORY_PROPERTY}, else
   * {@code ${java.io.tmpdir}/veracache-listener-cds}. A JVM started with its own temporary directory (the chaos command in
   * {@code MainJobProcessIT}) is given this one, to map the same archive and leave nothing in its own.
   */
  public static Path archiveDirectory() {
    String directory = System.getProperty(ARCHIVE_DIRECTORY_PROPERTY);
    return directory == null || directory.isBlank()
        ? Path.of(System.getProperty("java.io.tmpdir"), "veracache-listener-cds") : Path.of(directory);
  }

  private static String childClassPath() {
    return ClassDataArchive.jarsFirst(ChildJvm.classPath());
  }

  /** The child's command without a class-data archive. */
  static ProcessBuilder childProcess(Map<String, String> properties, Map<String, String> environment) {
    return childProcess(properties, environment, List.of());
  }

  /**
   * The child's command: this JVM's java, its options and {@code archiveOptions}, the classpath this class was loaded
   * from (jars first), the properties as -D.
   */
  static ProcessBuilder childProcess(Map<String, String> properties, Map<String, String> environment,
      List<String> archiveOptions) {
    List<String> options = new ArrayList<>(JVM_OPTIONS);
    options.addAll(archiveOptions);
    properties.forEach((k, v) -> options.add("-D" + CdcInvalidatorMain.PREFIX + k + "=" + v));
    List<String> command = ChildJvm.javaCommand(options, childClassPath());
    command.add(CdcInvalidatorMain.class.getName());
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(environment);
    return builder;
  }

  private Thread drain(InputStream stream, boolean protocol, String what) {
    Thread thread = new Thread(() -> {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          remember(line);
          if (protocol && line.equals(CdcInvalidatorMain.LIVE)) {
            live.countDown();
          } else if (protocol && line.startsWith(CdcInvalidatorMain.APPLIED + " ")) {
            applied.addAndGet(Long.parseLong(line.substring(CdcInvalidatorMain.APPLIED.length() + 1)));
            lastAppliedNanos = System.nanoTime();
          }
        }
      } catch (IOException e) {
        // the child is gone
      }
    }, "veracache-listener-" + spec.name() + "-" + what);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  private void remember(String line) {
    if (!line.startsWith(CdcInvalidatorMain.APPLIED + " ")) {
      tail.add(line);
    }
  }

  /**
   * How many invalidations of the mapped table's rows this child has applied (Redis took them), the quiescence
   * markers' not counted. After the workload stopped every one of them is a replay of an earlier change.
   */
  public long invalidationsApplied() {
    return applied.get();
  }

  /** When ({@link System#nanoTime}) this child last reported applied invalidations; 0 if never. */
  public long lastAppliedNanos() {
    return lastAppliedNanos;
  }

  private void awaitLive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (live.getCount() > 0) {
        if (!process.isAlive()) {
          awaitDrained();
          if (live.getCount() == 0) {
            break; // LIVE was printed, then the child died at once: the caller sees it as not alive
          }
          archiveExited(true); // not live: whatever it wrote is deleted
          throw new IllegalStateException("listener " + spec.name() + " exited with code " + process.exitValue()
              + " before it was live; last output:\n" + lastOutput());
        }
        if (System.nanoTime() > deadline) {
          destroyAndWait();
          throw new IllegalStateException("listener " + spec.name() + " was not live within " + timeout.toMillis()
              + " ms; killed it; last output:\n" + lastOutput());
        }
        live.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      destroyAndWait();
      throw new IllegalStateException("listener " + spec.name() + ": interrupted while waiting for it to be live", e);
    }
  }

  /** The child's last output lines (stdout and stderr interleaved as read), secrets masked. */
  public String lastOutput() {
    return spec.mask(String.join("\n", tail.lines()));
  }

  public Spec spec() {
    return spec;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The child's exit code once it has exited. */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /** SIGKILL now (no shutdown hook, nothing flushed); returns once the child is gone. */
  public void kill() {
    destroyAndWait();
  }

  /**
   * The child halts (exit code 137) at its next received batch that carries invalidations, before applying it (R6).
   * Returns at once; use awaitExit.
   */
  public void crashBeforeNextApply() {
    try {
      Files.writeString(crashFile, "crash before the next apply\n");
    } catch (IOException e) {
      throw new IllegalStateException("listener " + spec.name() + ": cannot write the crash file " + crashFile, e);
    }
  }

  public boolean awaitExit(Duration timeout) {
    try {
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (exited) {
        awaitDrained();
        archiveExited(true);
      }
      return exited;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** SIGSTOP; returns once the child is stopped (where /proc shows it). */
  public void pause() {
    signal("STOP");
    paused = true;
    Path stat = Path.of("/proc", Long.toString(pid()), "stat");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (Files.isReadable(stat) && System.nanoTime() < deadline) {
      try {
        String text = Files.readString(stat);
        char state = text.charAt(text.lastIndexOf(')') + 2); // "pid (comm) S ..."
        if (state == 'T' || state == 't') {
          return;
        }
        Thread.sleep(5);
      } catch (IOException e) {
        return; // gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** SIGCONT. */
  public void resume() {
    signal("CONT");
    paused = false;
  }

  private void signal(String signal) {
    try {
      ProcessControl.signal(pid(), signal);
    } catch (IllegalStateException e) {
      throw new IllegalStateException("listener " + spec.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Stops the child (SIGKILL if still running after a polite attempt) and waits for it; idempotent. The polite
   * attempt closes its stdin: the child then closes its listener and halts.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (process.isAlive()) {
        if (paused) {
          resume();
        }
        try {
          stdin.close();
        } catch (IOException e) {
          // the pipe is already broken: the child is going anyway
        }
        Duration politeStop = archive.writing() ? POLITE_STOP_WRITING : POLITE_STOP;
        if (!process.waitFor(politeStop.toMillis(), TimeUnit.MILLISECONDS)) {
          log.warn("listener {} (pid {}) still running {} ms after its stdin closed: SIGKILL", spec.name(), pid(),
              politeStop.toMillis());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.warn("listener {}: polite stop failed ({}): SIGKILL", spec.name(), e.getMessage());
    } finally {
      destroyAndWait();
      try {
        Files.deleteIfExists(crashFile);
      } catch (IOException e) {
        log.warn("listener {}: cannot delete {}", spec.name(), crashFile);
      }
    }
  }

  private void destroyAndWait() {
    boolean exitedByItself = !process.isAlive();
    process.destroyForcibly();
    try {
      if (!process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("listener " + spec.name() + " (pid " + pid() + ") still alive "
            + KILL_WAIT.toMillis() + " ms after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("listener " + spec.name() + ": interrupted while waiting for it to die", e);
    }
    try {
      stdin.close();
    } catch (IOException e) {
      // gone with the child
    }
    awaitDrained();
    archiveExited(exitedByItself);
  }

  /**
   * After the child exited: the archive it wrote is published if it was live and exited by itself, else deleted.
   */
  private void archiveExited(boolean byItself) {
    archive.exited(byItself && live.getCount() == 0);
  }

  /** After the child exited: lets the drain threads read the rest of its output (bounded). */
  private void awaitDrained() {
    for (Thread drain : drains) {
      try {
        drain.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public String toString() {
    return "CdcInvalidatorProcess[" + spec.name() + ", pid " + pid() + (isAlive() ? "" : ", exited") + "]";
  }
}
