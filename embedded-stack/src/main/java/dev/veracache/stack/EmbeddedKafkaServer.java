package dev.veracache.stack;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;

/**
 * A real Kafka broker (KRaft: broker and controller in one process, node 1, no ZooKeeper) run as a child JVM:
 * {@code CLASSPATH=<the broker's jars, from this JVM's class path> java -Xmx384m ... kafka.Kafka server.properties}, so that killing the
 * application does not kill the log, and the broker can be stopped, SIGSTOPped and SIGKILLed like the other servers.
 *
 * <p>Invariants:
 * <ul>
 *   <li>The broker port and the controller port are fixed at construction and bound to 127.0.0.1; a restart uses
 *       the same ports and the same log directory ({@value #DATA_DIR}), so acknowledged records survive
 *       {@link #stop()}/{@link #start()} and {@link #kill()}/{@link #start()} (log recovery).</li>
 *   <li>The log directory is formatted once (StorageTool in a child JVM, since it calls exit), before the first start,
 *       with a random cluster id; later starts find it formatted.</li>
 *   <li>{@link #start()} returns only when the broker serves: an AdminClient describeCluster names a node. A process
 *       that exits or does not serve within {@link #START_TIMEOUT} fails the start with an error naming
 *       {@value #LOG_FILE}, which holds the broker's own output (nothing goes to this JVM's stdout).</li>
 *   <li>The directory records the broker's pid ({@value #PID_FILE}) so that a later JVM can kill a broker whose JVM
 *       died and whose watchdog missed it; it is recognised by {@value #MAIN_CLASS} on its command line.</li>
 *   <li>Stop is SIGTERM (controlled shutdown) bounded by {@link #STOP_TIMEOUT} (three times that while the broker
 *       writes the shared class-data archive at exit), then SIGKILL.</li>
 * </ul>
 */
final class EmbeddedKafkaServer extends EmbeddedServer implements KafkaServer {

  static final String PID_FILE = "kafka.pid";
  static final String LOG_FILE = "kafka.log";
  static final String MAIN_CLASS = "kafka.Kafka";
  static final String DATA_DIR = "data";
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration FORMAT_TIMEOUT = Duration.ofSeconds(60);
  static final String LOGBACK_FILE = "logback.xml";
  /** The broker's jars: this module's runtime dependencies, listed at build time (see {@link #brokerClassPath()}). */
  static final String BROKER_JARS = "/dev/veracache/stack/kafka-broker-jars.txt";
  /**
   * The broker's logging when the class path binds SLF4J to Logback, to stdout, which goes to {@value #LOG_FILE} (not
   * the test's logback-test.xml, whose levels are chosen for the test's own output): WARN and up, plus the lifecycle
   * lines (started, registered, unfenced, shutdown, log loading and recovery). All of INFO (about 1,900 lines per
   * start, mostly configuration dumps) made the start 2 s slower on 2 cores.
   */
  private static final String LOGBACK = """
      <configuration>
        <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n</pattern></encoder>
        </appender>
        <logger name="kafka.server.KafkaRaftServer" level="INFO"/>
        <logger name="kafka.server.BrokerServer" level="INFO"/>
        <logger name="kafka.server.ControllerServer" level="INFO"/>
        <logger name="kafka.server.BrokerLifecycleManager" level="INFO"/>
        <logger name="kafka.log" level="INFO"/>
        <root level="WARN"><appender-ref ref="OUT"/></root>
      </configuration>
      """;
  /**
   * The child JVM's options: C1 only and the serial collector halve the start (11 s to 6 s measured on 2 busy cores:
   * the broker's start is mostly JIT work); a test broker needs a quick start more than peak throughput. A shared
   * class-data archive ({@link ClassDataArchive}) takes it to about 2 s once written.
   */
  static final List<String> JVM_OPTIONS = List.of("-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

  private final int controllerPort;
  private final String classPath = brokerClassPath();
  private final ClassDataArchive classArchive = ClassDataArchive.of(classPath, JVM_OPTIONS);
  private Process process;

  EmbeddedKafkaServer(Path dir, int port, int controllerPort) {
    super(dir, port);
    this.controllerPort = controllerPort;
  }

  @Override
  long startProcess() {
    Path properties = dir.resolve("server.properties");
    try {
      if (!Files.exists(properties)) {
        Files.createDirectories(dir);
        Files.writeString(properties, serverProperties());
        Files.writeString(dir.resolve(LOGBACK_FILE), LOGBACK);
      }
      if (!Files.exists(dir.resolve(DATA_DIR).resolve("meta.properties"))) {
        format(properties);
      }
      List<String> args = new ArrayList<>(JVM_OPTIONS);
      args.addAll(classArchive.optionsForStart());
      args.add(MAIN_CLASS);
      args.add(properties.toString());
      process = java(args).start();
      spawned(process.pid());
      Files.writeString(dir.resolve(PID_FILE), Long.toString(process.pid()));
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + this + ": " + e.getMessage() + "; see " + logFile(), e);
    }
    awaitServing();
    return process.pid();
  }

  private String serverProperties() {
    return String.join("\n",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.bootstrap.servers=127.0.0.1:" + controllerPort,
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs=" + dir.resolve(DATA_DIR),
        // topics are created explicitly (KafkaServer.createTopic): a misspelt topic is an error, not a new topic
        "auto.create.topics.enable=false",
        "num.partitions=1",
        "default.replication.factor=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        // After a SIGKILL the controller (replaying its log) still holds the dead broker's session and refuses the new
        // registration (DUPLICATE_BROKER_REGISTRATION) until the session expires: 9 s by default, 2 s here.
        "broker.heartbeat.interval.ms=500",
        "broker.session.timeout.ms=2000",
        // A consumer killed -9 holds its partitions until its session times out (45 s by default, at least 6 s):
        // crash tests set session.timeout.ms to a few seconds, which the broker must allow.
        "group.min.session.timeout.ms=1000",
        "");
  }

  /** {@code kafka.tools.StorageTool format} in a child JVM (it calls System.exit), once per log directory. */
  private void format(Path properties) throws IOException {
    List<String> args = new ArrayList<>(JVM_OPTIONS);
    args.addAll(classArchive.optionsForTool());
    args.addAll(List.of("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c",
        properties.toString(), "--standalone"));
    Process format = java(args).start();
    try {
      if (!format.waitFor(FORMAT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        format.destroyForcibly();
        throw new IllegalStateException("formatting the Kafka log directory " + dir.resolve(DATA_DIR) + " took more "
            + "than " + FORMAT_TIMEOUT.toSeconds() + " s; see " + logFile());
      }
    } catch (InterruptedException e) {
      format.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    if (format.exitValue() != 0) {
      throw new IllegalStateException("kafka.tools.StorageTool format of " + dir.resolve(DATA_DIR) + " exited with "
          + format.exitValue() + "; see " + logFile());
    }
  }

  /**
   * The jars the broker runs on: this module's own runtime dependencies ({@value #BROKER_JARS}, written at build time
   * by {@code dependency:list}: {@code kafka_2.13} and everything it needs) in that list's order, plus Logback's two
   * jars for its logging, each taken from this JVM's class path; a listed jar that is not there is left out. So every
   * module whose class path has the same versions of them (the parent's dependency management pins them) gives the
   * broker the same class path, whatever else its tests depend on, and maps the same class-data archive
   * ({@link ClassDataArchive}): the module that starts the first broker writes it, every later one maps it (on a
   * fresh machine, the other modules' JVMs no longer write an archive of their own when they stop their broker).
   * Directories ({@code target/classes}, whose logging configuration the broker does not want either, and which keep
   * the JDK from writing an archive) and Veracache's own jars (rebuilt by every build, which makes the JDK refuse the
   * archive) are never on it. Without the list (a class path that lost the resource), every jar of the class path but
   * Veracache's, as before the list.
   */
  static String brokerClassPath() {
    return brokerClassPath(listedBrokerJars(), classPathJars());
  }

  /**
   * The jars of {@code classPath} for {@code listed}, in {@code listed}'s order: the listed version's jar, or else the
   * class path's jar of that artifact (another module's dependency management may have picked another version: it is
   * the one this JVM runs, and the broker gets it); a listed artifact not on the class path at all is left out.
   */
  static String brokerClassPath(List<BrokerJar> listed, List<String> classPath) {
    List<String> jars = classPath.stream().filter(entry -> !Path.of(entry).getFileName().toString()
        .startsWith("veracache-")).toList();
    if (listed.isEmpty()) {
      return String.join(File.pathSeparator, jars);
    }
    java.util.Map<String, String> byName = new java.util.LinkedHashMap<>();
    jars.forEach(jar -> byName.putIfAbsent(Path.of(jar).getFileName().toString(), jar));
    java.util.LinkedHashSet<String> chosen = new java.util.LinkedHashSet<>();
    for (BrokerJar jar : listed) {
      String exact = byName.get(jar.fileName());
      if (exact != null) {
        chosen.add(exact);
      } else {
        byName.entrySet().stream().filter(e -> jar.sameArtifact(e.getKey())).findFirst()
            .ifPresent(e -> chosen.add(e.getValue()));
      }
    }
    return String.join(File.pathSeparator, chosen);
  }

  /** One jar of {@value #BROKER_JARS}. */
  record BrokerJar(String artifactId, String version, String classifier) {
    String fileName() {
      return artifactId + "-" + version + (classifier.isEmpty() ? "" : "-" + classifier) + ".jar";
    }

    /** Whether a jar file name is this artifact in some version: {@code <artifactId>-<digit>...[-classifier].jar}. */
    boolean sameArtifact(String name) {
      String prefix = artifactId + "-";
      return name.startsWith(prefix) && name.length() > prefix.length()
          && Character.isDigit(name.charAt(prefix.length()))
          && name.endsWith((classifier.isEmpty() ? "" : "-" + classifier) + ".jar");
    }

    /**
     * One line of {@code dependency:list} ({@code   group:artifact:jar[:classifier]:version:scope}, possibly followed
     * by {@code  -- module ...}), or null for a line that names no jar (the header, a blank line).
     */
    static BrokerJar parse(String line) {
      String coordinates = line.strip();
      int module = coordinates.indexOf(" -- ");
      if (module >= 0) {
        coordinates = coordinates.substring(0, module);
      }
      String[] parts = coordinates.split(":");
      if (parts.length < 5 || !"jar".equals(parts[2])) {
        return null;
      }
      return new BrokerJar(parts[1], parts[parts.length - 2], parts.length >= 6 ? parts[3] : "");
    }
  }

  /** The jars of {@value #BROKER_JARS}, then Logback's two; empty without the list. */
  private static List<BrokerJar> listedBrokerJars() {
    List<BrokerJar> jars = new ArrayList<>();
    try (var in = EmbeddedKafkaServer.class.getResourceAsStream(BROKER_JARS)) {
      if (in == null) {
        return List.of();
      }
      for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
        BrokerJar jar = BrokerJar.parse(line);
        if (jar != null) {
          jars.add(jar);
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    // Logback is a test dependency here, so not in the list: the broker's logging (LOGBACK) when the class path has it.
    jars.add(new BrokerJar("logback-classic", "", ""));
    jars.add(new BrokerJar("logback-core", "", ""));
    return jars;
  }

  /**
   * This JVM's class path, and the jars of any URL class loader between this class and the system loader (under
   * {@code mvn exec:java}, the chaos main job, the project's jars are only there: java.class.path is Maven's own):
   * regular files only.
   */
  static List<String> classPathJars() {
    java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>();
    for (ClassLoader loader = EmbeddedKafkaServer.class.getClassLoader(); loader != null; loader = loader.getParent()) {
      if (loader instanceof java.net.URLClassLoader urls) {
        for (java.net.URL url : urls.getURLs()) {
          if ("file".equals(url.getProtocol())) {
            try {
              entries.add(Path.of(url.toURI()).toString());
            } catch (java.net.URISyntaxException | IllegalArgumentException e) {
              // not a plain file: not a jar the broker can use
            }
          }
        }
      }
    }
    entries.addAll(Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator)));
    return entries.stream().filter(entry -> !entry.isEmpty() && Files.isRegularFile(Path.of(entry))).toList();
  }

  /**
   * A child JVM on this JVM's java binary and the jars of its class path, its output appended to {@value #LOG_FILE}.
   * The class path goes in the {@code CLASSPATH} variable, not {@code -cp}: the OS reports only the first 4 kB of a
   * command line, and a test class path (several kB) pushed {@value #MAIN_CLASS}, by which the stale cleanup
   * recognises a broker, out of it.
   */
  private ProcessBuilder java(List<String> args) {
    return childJvm(dir, dir.resolve(LOGBACK_FILE), logFile(), classPath, args);
  }

  /**
   * A child JVM in {@code dir} on this JVM's java binary, logging through {@code logback}, its output appended to
   * {@code log}; the class path goes in the {@code CLASSPATH} variable (see {@link #java}). Shared with the embedded
   * Kafka Connect worker.
   */
  static ProcessBuilder childJvm(Path dir, Path logback, Path log, String classPath, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Djava.awt.headless=true");
    command.add("-Dlogback.configurationFile=" + logback);
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(ProcessControl.inOwnSession(command)).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("CLASSPATH", classPath);
    return builder;
  }

  private Path logFile() {
    return dir.resolve(LOG_FILE);
  }

  private void awaitServing() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    try {
      // The port first: an AdminClient against a closed port logs a warning per retry.
      while (!portOpen()) {
        checkStillStarting(deadline);
        Thread.sleep(50); // polling a condition (the port is open), not waiting for a race
      }
      try (Admin admin = KafkaAdmin.open(bootstrapServers(), Duration.ofSeconds(5))) {
        while (!KafkaAdmin.serves(admin, Duration.ofSeconds(5))) {
          checkStillStarting(deadline);
          Thread.sleep(50);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      killStarting();
      throw new IllegalStateException(e);
    }
  }

  private boolean portOpen() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void checkStillStarting(long deadline) {
    if (!process.isAlive()) {
      int code = process.exitValue();
      process = null;
      classArchive.exited(false);
      throw new IllegalStateException(this + " exited at start (code " + code + "); see " + logFile());
    }
    if (System.nanoTime() > deadline) {
      killStarting();
      throw new IllegalStateException(this + " did not serve (AdminClient describeCluster) within "
          + START_TIMEOUT.toSeconds() + " s; killed it; see " + logFile());
    }
  }

  private void killStarting() {
    process.destroyForcibly();
    ProcessControl.awaitExit(process.pid(), Duration.ofSeconds(10));
    process = null;
    classArchive.exited(false);
  }

  @Override
  void stopProcess(long pid) {
    process.destroy(); // SIGTERM: controlled shutdown, flushes and marks the log clean
    boolean clean = ProcessControl.awaitExit(pid, classArchive.writing() ? STOP_TIMEOUT.multipliedBy(3) : STOP_TIMEOUT);
    if (!clean) {
      process.destroyForcibly();
      ProcessControl.awaitExit(pid, Duration.ofSeconds(10));
    }
    process = null;
    classArchive.exited(clean);
  }

  @Override
  void processKilled() {
    process = null;
    classArchive.exited(false);
  }

  @Override
  public void kill() {
    sigkill();
  }

  @Override
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void createTopic(String name, int partitions) {
    KafkaAdmin.createTopic(bootstrapServers(), toString(), name, partitions);
  }

  int controllerPort() {
    return controllerPort;
  }

  /** The broker's own output (its logs through this class path's SLF4J binding, and the format run's). */
  Path log() {
    return logFile();
  }

  @Override
  public String toString() {
    return "embedded Kafka " + org.apache.kafka.common.utils.AppInfoParser.getVersion() + " (KRaft) on 127.0.0.1:"
        + port;
  }
}
