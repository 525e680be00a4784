package dev.veracache.chaos.fault;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.KafkaSource;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.chaos.check.RedisReader;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import dev.veracache.stack.ProcessControl;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CDC listener ({@link CdcInvalidator}, one table mapping) as its own JVM, so that chaos scenarios can really
 * SIGKILL, SIGSTOP/SIGCONT and restart it. {@link CdcInvalidatorProcess} is the parent side.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>stdout is the protocol, nothing else.</b> Before anything can log, {@code System.out} is pointed at stderr;
 *       the real stdout carries only the lines {@code LIVE}, {@code FAILED <message>}, {@code CRASHING} and
 *       {@code APPLIED <n>} (after each batch Redis took: how many invalidations of the mapped table's rows it held,
 *       the quiescence markers' not counted; not printed for none).</li>
 *   <li><b>Secrets only from the environment, never printed.</b> {@code VERACACHE_LISTENER_DB_PASSWORD} (absent =
 *       empty) and {@code VERACACHE_LISTENER_REDIS_URI} (required; may carry a password): one Redis's URI, or a Redis
 *       Cluster's address, {@code cluster:<seed URI>,<seed URI>...} ({@link RedisReader#clusterAddress}). Every
 *       message that leaves the process has both values masked, and each seed URI and its user info.</li>
 *   <li><b>Exit codes.</b> 2: a configuration property is missing or bad (the message names it); 1: the listener
 *       did not become live or failed later ({@code FAILED} printed first); 137: the R6 crash point; 0: stdin closed.
 *       </li>
 *   <li><b>Never outlives its parent.</b> When stdin reaches EOF (the parent closed the pipe or died) the listener
 *       is closed, bounded by a few seconds, and the JVM halts.</li>
 *   <li><b>R6 crash point.</b> While the file named by {@code veracache.listener.crashFile} exists, the next batch that
 *       carries invalidations kills the JVM with SIGKILL (exit code 137) in {@link CdcHooks#beforeApply}: the batch was
 *       read, never applied, and its position never acknowledged. Batches without invalidations (markers, heartbeats)
 *       pass. SIGKILL, not {@code halt}: a crash runs nothing at exit (a JVM writing its class-data archive would
 *       otherwise spend seconds on it before the parent sees it gone); {@code halt(137)} only if the signal fails.</li>
 * </ul>
 *
 * <p>System properties ({@code veracache.listener.} + name): {@code dbHost}, {@code dbPort}, {@code dbUser},
 * {@code database}, {@code table}, {@code namespace}, {@code keyTemplates} (comma-separated), {@code serverId},
 * {@code name}, {@code stateDirectory}; optional: {@code versionColumn}, {@code retryInitialMillis} (10),
 * {@code retryMaxMillis} (50), {@code liveTimeoutSeconds} (120), {@code crashFile}, {@code firstStart}
 * ({@code FLUSH_NAMESPACES}, the default, or {@code ASSUME_FRESH_INSTALL}: see {@link CdcOptions.FirstStartPolicy}),
 * {@code progressIntervalMillis} (the library's default when absent). Kafka mode (the change stream read from Kafka,
 * {@link CdcOptions.Builder#kafka}) when {@code kafkaBootstrapServers} is set: then {@code kafkaTopicPattern} is
 * required, and {@code kafkaGroupId} (the listener's name when absent), {@code kafkaTopicRefreshMillis} (the library's
 * default) and {@code kafkaGroupInstanceId} (the consumer's {@value #GROUP_INSTANCE_ID}: a static member, whose
 * restart takes its dead predecessor's partitions at once) are optional.
 */
public final class CdcInvalidatorMain {

  static final String PREFIX = "veracache.listener.";
  static final String DB_PASSWORD_ENV = "VERACACHE_LISTENER_DB_PASSWORD";
  static final String REDIS_URI_ENV = "VERACACHE_LISTENER_REDIS_URI";
  static final String LIVE = "LIVE";
  static final String FAILED = "FAILED";
  static final String CRASHING = "CRASHING";
  static final String APPLIED = "APPLIED";
  /** The one Kafka consumer setting a listener in its own JVM takes: static group membership. */
  static final String GROUP_INSTANCE_ID = "group.instance.id";
  static final int EXIT_FAILED = 1;
  static final int EXIT_BAD_CONFIGURATION = 2;
  static final int EXIT_CRASHED = 137;

  private static final Duration CLOSE_BOUND = Duration.ofSeconds(3);

  private CdcInvalidatorMain() {}

  public static void main(String[] args) {
    PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err); // logback's console appender and stray prints go to stderr from here on
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger(); // the binlog client's JUL, through logback
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    Logger log = LoggerFactory.getLogger(CdcInvalidatorMain.class);
    Secrets secrets = new Secrets(System.getenv(DB_PASSWORD_ENV), System.getenv(REDIS_URI_ENV));
    Holder holder = new Holder();
    watchStdin(holder);

    Config config;
    try {
      config = Config.fromSystemProperties(secrets);
    } catch (BadConfiguration e) {
      System.err.println("veracache listener: " + e.getMessage());
      System.err.flush();
      Runtime.getRuntime().halt(EXIT_BAD_CONFIGURATION);
      return;
    }

    CdcOptions options;
    try {
      options = config.options();
    } catch (IllegalArgumentException e) {
      System.err.println("veracache listener: bad configuration: " + secrets.mask(String.valueOf(e.getMessage())));
      System.err.flush();
      Runtime.getRuntime().halt(EXIT_BAD_CONFIGURATION);
      return;
    }
    CdcInvalidator cdc;
    try {
      cdc = CdcInvalidator.start(options, new ChildHooks(config.crashFile, protocol));
    } catch (RuntimeException e) {
      fail(protocol, log, secrets, config.name, "did not start: " + e.getMessage());
      return;
    }
    holder.set(cdc);
    if (!cdc.awaitLive(config.liveTimeout)) {
      Throwable failure = cdc.failure();
      fail(protocol, log, secrets, config.name, failure != null ? "did not become live: " + failure.getMessage()
          : "not live within " + config.liveTimeout.toSeconds() + " s");
      return;
    }
    protocol.println(LIVE);
    log.info("listener {} is live", config.name);
    while (true) {
      Throwable failure = cdc.failure();
      if (failure != null) {
        fail(protocol, log, secrets, config.name, "stopped: " + failure.getMessage());
        return;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void fail(PrintStream protocol, Logger log, Secrets secrets, String name, String message) {
    String safe = secrets.mask(String.valueOf(message)).replace('\n', ' ');
    log.error("listener {} {}", name, safe);
    protocol.println(FAILED + " listener " + name + " " + safe);
    System.err.flush();
    Runtime.getRuntime().halt(EXIT_FAILED);
  }

  /** Closes the listener (bounded) and halts once stdin reaches EOF: the parent closed the pipe or is gone. */
  private static void watchStdin(Holder holder) {
    Thread watcher = new Thread(() -> {
      try (InputStream in = System.in) {
        byte[] buffer = new byte[256];
        while (in.read(buffer) >= 0) {
          // the parent never writes; anything it does write is ignored
        }
      } catch (IOException e) {
        // a broken pipe means the same as EOF
      }
      Thread halter = new Thread(() -> {
        try {
          Thread.sleep(CLOSE_BOUND.toMillis());
        } catch (InterruptedException e) {
          // halt now
        }
        Runtime.getRuntime().halt(0);
      }, "veracache-listener-halter");
      halter.setDaemon(true);
      halter.start();
      CdcInvalidator cdc = holder.get();
      if (cdc != null) {
        try {
          cdc.close();
        } catch (RuntimeException e) {
          // halting anyway
        }
      }
      Runtime.getRuntime().halt(0);
    }, "veracache-listener-stdin");
    watcher.setDaemon(true);
    watcher.start();
  }

  /** The listener, once started, for the stdin watcher. */
  private static final class Holder {
    private volatile CdcInvalidator cdc;

    void set(CdcInvalidator cdc) {
      this.cdc = cdc;
    }

    CdcInvalidator get() {
      return cdc;
    }
  }

  /**
   * R6: SIGKILLs this JVM before a batch with invalidations is applied while the crash file exists; reports what each
   * applied batch invalidated of the table's rows ({@code APPLIED <n>}).
   */
  private record ChildHooks(Path crashFile, PrintStream protocol) implements CdcHooks {
    @Override
    public void afterApply(List<KeyInvalidation> invalidations) {
      long rows = invalidations.stream().filter(i -> !i.key().startsWith(ListenerCatchUp.MARKER_PREFIX)).count();
      if (rows > 0) {
        protocol.println(APPLIED + " " + rows);
      }
    }

    @Override
    public void beforeApply(List<KeyInvalidation> invalidations) {
      if (crashFile != null && !invalidations.isEmpty() && Files.exists(crashFile)) {
        protocol.println(CRASHING);
        protocol.flush();
        try {
          ProcessControl.signal(ProcessHandle.current().pid(), "KILL");
          Thread.sleep(10_000); // the signal is on its way: this batch is never applied
        } catch (RuntimeException | InterruptedException e) {
          // the signal failed: halt, which is a crash too
        }
        Runtime.getRuntime().halt(EXIT_CRASHED);
      }
    }
  }

  /**
   * What of the Redis setting ({@link #REDIS_URI_ENV}) is secret: the whole value, and for a cluster each seed URI;
   * each URI's user info. Longest first, so that a masked value leaves no part of itself.
   */
  static List<String> redisSecrets(String redis) {
    if (redis == null || redis.isEmpty()) {
      return List.of();
    }
    List<String> uris = RedisReader.isCluster(redis) ? RedisReader.seeds(redis) : List.of(redis);
    List<String> secrets = new ArrayList<>(List.of(redis));
    secrets.addAll(uris);
    for (String uri : uris) {
      int scheme = uri.indexOf("://");
      int at = uri.lastIndexOf('@');
      if (scheme >= 0 && at > scheme + 3) {
        secrets.add(uri.substring(scheme + 3, at));
      }
    }
    return secrets;
  }

  /** Masks the secret values (the Redis setting's, see {@link #redisSecrets}; the database password) everywhere. */
  private record Secrets(String dbPassword, String redisUri) {
    String mask(String text) {
      String masked = text;
      List<String> secrets = new ArrayList<>(redisSecrets(redisUri));
      secrets.add(dbPassword);
      for (String secret : secrets) {
        if (secret != null && !secret.isEmpty()) {
          masked = masked.replace(secret, "***");
        }
      }
      return masked;
    }

    @Override
    public String toString() {
      return "Secrets[***]";
    }
  }

  /** A missing or bad property; the message names it. */
  static final class BadConfiguration extends Exception {
    BadConfiguration(String message) {
      super(message, null, false, false);
    }
  }

  private record Config(String dbHost, int dbPort, String dbUser, String dbPassword, String database, String table,
      String namespace, List<String> keyTemplates, String versionColumn, long serverId, String name,
      Path stateDirectory, String redisUri, Duration retryInitial, Duration retryMax, Duration liveTimeout,
      Path crashFile, CdcOptions.FirstStartPolicy firstStart, Duration progressInterval /* nullable */,
      KafkaSource kafka /* nullable: the binlog */) {

    static Config fromSystemProperties(Secrets secrets) throws BadConfiguration {
      String redisUri = secrets.redisUri();
      if (redisUri == null || redisUri.isBlank()) {
        throw new BadConfiguration("environment variable " + REDIS_URI_ENV + " is missing");
      }
      List<String> keys = Arrays.stream(required("keyTemplates").split(",")).map(String::trim)
          .filter(k -> !k.isEmpty()).toList();
      if (keys.isEmpty()) {
        throw new BadConfiguration("property " + PREFIX + "keyTemplates names no key template");
      }
      String version = System.getProperty(PREFIX + "versionColumn");
      String crash = System.getProperty(PREFIX + "crashFile");
      Duration retryInitial = Duration.ofMillis(positiveLong("retryInitialMillis", 10));
      Duration retryMax = Duration.ofMillis(positiveLong("retryMaxMillis", 50));
      if (retryMax.compareTo(retryInitial) < 0) {
        throw new BadConfiguration("property " + PREFIX + "retryMaxMillis must be >= retryInitialMillis");
      }
      return new Config(required("dbHost"), (int) positiveLong("dbPort", -1), required("dbUser"),
          secrets.dbPassword() == null ? "" : secrets.dbPassword(), required("database"), required("table"),
          required("namespace"), keys, version == null || version.isBlank() ? null : version.trim(),
          positiveLong("serverId", -1), required("name"), Path.of(required("stateDirectory")), redisUri,
          retryInitial, retryMax, Duration.ofSeconds(positiveLong("liveTimeoutSeconds", 120)),
          crash == null || crash.isBlank() ? null : Path.of(crash), firstStartPolicy(),
          System.getProperty(PREFIX + "progressIntervalMillis") == null ? null
              : Duration.ofMillis(positiveLong("progressIntervalMillis", -1)), kafkaSource());
    }

    /** The Kafka source when {@code kafkaBootstrapServers} is set, else null (the binlog). */
    private static KafkaSource kafkaSource() throws BadConfiguration {
      String bootstrap = System.getProperty(PREFIX + "kafkaBootstrapServers");
      if (bootstrap == null || bootstrap.isBlank()) {
        return null;
      }
      KafkaSource.Builder source = KafkaSource.builder().bootstrapServers(bootstrap.trim())
          .topicPattern(required("kafkaTopicPattern"));
      String group = System.getProperty(PREFIX + "kafkaGroupId");
      if (group != null && !group.isBlank()) {
        source.groupId(group.trim());
      }
      if (System.getProperty(PREFIX + "kafkaTopicRefreshMillis") != null) {
        source.topicRefresh(Duration.ofMillis(positiveLong("kafkaTopicRefreshMillis", -1)));
      }
      String instance = System.getProperty(PREFIX + "kafkaGroupInstanceId");
      if (instance != null && !instance.isBlank()) {
        source.consumerProperty(GROUP_INSTANCE_ID, instance.trim());
      }
      try {
        return source.build();
      } catch (IllegalArgumentException e) {
        throw new BadConfiguration("the Kafka properties are refused: " + e.getMessage());
      }
    }

    private static CdcOptions.FirstStartPolicy firstStartPolicy() throws BadConfiguration {
      String value = System.getProperty(PREFIX + "firstStart");
      if (value == null || value.isBlank()) {
        return CdcOptions.FirstStartPolicy.FLUSH_NAMESPACES;
      }
      try {
        return CdcOptions.FirstStartPolicy.valueOf(value.trim());
      } catch (IllegalArgumentException e) {
        throw new BadConfiguration("property " + PREFIX + "firstStart is '" + value + "'; expected one of "
            + Arrays.toString(CdcOptions.FirstStartPolicy.values()));
      }
    }

    @Override
    public String toString() {
      return "Config[" + name + " on " + dbHost + ":" + dbPort + "/" + database + "." + table
          + (kafka == null ? "" : ", through " + kafka) + "]";
    }

    CdcOptions options() {
      InvalidationMappings.TableBuilder mapping = InvalidationMappings.builder().table(database + "." + table)
          .namespace(namespace);
      keyTemplates.forEach(mapping::key);
      if (versionColumn != null) {
        mapping.version(versionColumn);
      }
      CdcOptions.Builder builder = CdcOptions.builder();
      if (progressInterval != null) {
        builder.progressInterval(progressInterval);
      }
      if (kafka != null) {
        builder.kafka(kafka);
      }
      return builder
          .database(dbHost, dbPort, dbUser, dbPassword)
          .serverId(serverId).name(name)
          .redis((RedisReader.isCluster(redisUri) ? VeracacheOptions.clusterBuilder(RedisReader.seeds(redisUri))
              : VeracacheOptions.builder(redisUri)).commandTimeout(Duration.ofMillis(300)).build())
          .mappings(mapping.add().build())
          .stateDirectory(stateDirectory)
          .retryBackoff(retryInitial, retryMax)
          .firstStart(firstStart)
          .meterRegistry(new SimpleMeterRegistry())
          .build();
    }

    private static String required(String property) throws BadConfiguration {
      String value = System.getProperty(PREFIX + property);
      if (value == null || value.isBlank()) {
        throw new BadConfiguration("property " + PREFIX + property + " is missing");
      }
      return value.trim();
    }

    /** A positive number; {@code fallback} < 0 makes the property required. */
    private static long positiveLong(String property, long fallback) throws BadConfiguration {
      String value = System.getProperty(PREFIX + property);
      if (value == null || value.isBlank()) {
        if (fallback < 0) {
          throw new BadConfiguration("property " + PREFIX + property + " is missing");
        }
        return fallback;
      }
      try {
        long parsed = Long.parseLong(value.trim());
        if (parsed <= 0 || property.equals("dbPort") && parsed > 65535) {
          throw new NumberFormatException();
        }
        return parsed;
      } catch (NumberFormatException e) {
        throw new BadConfiguration("property " + PREFIX + property + " is not a valid positive number: '"
            + value + "'");
      }
    }
  }
}
