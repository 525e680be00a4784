package dev.veracache.stack;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real MariaDB (binlog on), a real Redis and, on first use of {@link #kafka()}, a real Kafka broker for tests and
 * demos, each embedded or external as {@link StackConfig} says. Embedded servers run on free ports in a private
 * directory, are stopped by {@link #close()} or a JVM shutdown hook, and are killed by a watchdog if the JVM dies
 * without either. Directories left by dead JVMs are cleaned at the next start.
 *
 * <pre>{@code
 * try (EmbeddedStack stack = EmbeddedStack.start()) {
 *   Connection c = stack.database().connect();
 *   String redisUri = stack.redis().uri();
 * }
 * }</pre>
 */
public final class EmbeddedStack implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedStack.class);

  /**
   * System property: the directory of the machine's MariaDB install cache (binaries and an installed data directory,
   * made once; see the module README), by default {@code ${java.io.tmpdir}/veracache-mariadb}. A JVM started with its
   * own {@code java.io.tmpdir} can be given this JVM's ({@link #mariaDbCacheDirectory()}) to share it.
   */
  public static final String MARIADB_CACHE_PROPERTY = "veracache.mariadb.cache";

  /** The MariaDB install cache this JVM uses (see {@link #MARIADB_CACHE_PROPERTY}). */
  public static Path mariaDbCacheDirectory() {
    String given = System.getProperty(MARIADB_CACHE_PROPERTY, "").trim();
    return given.isEmpty() ? Paths.get(System.getProperty("java.io.tmpdir"), "veracache-mariadb") : Paths.get(given);
  }

  private final Path dir;
  private final StackConfig config;
  private final DatabaseServer database;
  private final RedisServer redis;
  private final Thread shutdownHook;
  /** Null until the first {@link #kafka()}: most users never need the broker (about 4 s and 300 MB). */
  private KafkaServer kafka;
  /** True once {@link #kafka} has started (a failed start is retried by the next call, on the same ports). */
  private boolean kafkaStarted;
  /** Null until the first {@link #databaseReplica()}. */
  private EmbeddedMariaDbReplica replica;
  /** Null until the first {@link #redisCluster()}. */
  private EmbeddedRedisCluster redisCluster;
  /** The Kafka Connect workers {@link #kafkaConnect} started, stopped before the broker. */
  private final java.util.List<EmbeddedKafkaConnect> connectWorkers = new java.util.ArrayList<>();
  private int connectWorkersStarted;
  private KafkaConnectWorker sharedConnect;
  private boolean closed;

  private EmbeddedStack(Path dir, StackConfig config, DatabaseServer database, RedisServer redis) {
    this.dir = dir;
    this.config = config;
    this.database = database;
    this.redis = redis;
    this.shutdownHook = new Thread(this::stopServers, "veracache-stack-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts the stack configured by environment variables and system properties ({@link StackConfig#fromEnvironment}).
   * <b>Embedded by default, but external as soon as a variable says so:</b> with {@code VERACACHE_DB_URL} (or the
   * system property {@code veracache.db.url}) set, the database is that server, and with {@code VERACACHE_REDIS_URI}
   * ({@code veracache.redis.uri}) set, Redis is that server: neither is started, and their controls (stop, restart,
   * pause) throw {@link UnsupportedOperationException}. {@code VERACACHE_KAFKA_BOOTSTRAP} does the same for the broker
   * that {@link #kafka()} returns. {@code VERACACHE_REDIS_BINARY} keeps Redis embedded but runs that
   * {@code redis-server}. Use {@link #start(StackConfig)} with {@link StackConfig#embedded()} to ignore the
   * environment. Either way one INFO line says which servers are used (never a password), for example
   * {@code EmbeddedStack up in 812 ms: database embedded MariaDB on 127.0.0.1:40123 (client: .../bin/mariadb
   * --host=127.0.0.1 --port=40123 --user=root --skip-ssl veracache); Redis external Redis at 10.0.0.5:6379 (set by
   * VERACACHE_REDIS_URI or veracache.redis.uri, with a password)}.
   */
  public static EmbeddedStack start() {
    return start(StackConfig.fromEnvironment());
  }

  /** Starts the embedded servers in parallel; external ones are only described (see {@link #start()}). */
  public static EmbeddedStack start(StackConfig config) {
    StackConfig.refuseInUnitTier("an EmbeddedStack");
    long started = System.nanoTime();
    StackDirectories.cleanStale();
    Path dir = StackDirectories.create();
    DatabaseServer database = config.externalDatabase() ? new ExternalDatabaseServer(config)
        : new EmbeddedMariaDbServer(dir.resolve("mariadb"), StackDirectories.freePort());
    RedisServer redis = config.externalRedis() ? new ExternalRedisServer(config)
        : new EmbeddedRedisServer(dir.resolve("redis"), StackDirectories.freePort(), config.redisBinary);
    CompletableFuture<Void> db = CompletableFuture.runAsync(() -> startIfEmbedded(database));
    CompletableFuture<Void> rs = CompletableFuture.runAsync(() -> startIfEmbedded(redis));
    try {
      CompletableFuture.allOf(db, rs).join();
    } catch (CompletionException e) {
      stopQuietly(database);
      stopQuietly(redis);
      StackDirectories.deleteStack(dir);
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    EmbeddedStack stack = new EmbeddedStack(dir, config, database, redis);
    log.info("EmbeddedStack up in {} ms: database {}{}; Redis {}; Kafka {}", (System.nanoTime() - started) / 1_000_000,
        database, database.controllable() ? " (client: " + String.join(" ", database.clientCommand()) + ")" : "",
        redis, config.externalKafka() ? new ExternalKafkaServer(config) : "embedded, started on first use (kafka())");
    return stack;
  }

  private static void startIfEmbedded(ServerControls server) {
    if (server.controllable()) {
      server.start();
    }
  }

  /**
   * Hands stopping at JVM exit to the caller: removes this stack's JVM shutdown hook, so a JVM shutdown (SIGTERM)
   * stops the servers only when the caller closes the stack, in the caller's order (e.g. a Spring context that closes
   * the users of the servers first; JVM shutdown hooks otherwise run all at once). The orphan watchdog still kills
   * the servers if the JVM dies without {@link #close()}, and the next start cleans the directory.
   */
  public EmbeddedStack closedByCaller() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook is running or has run
    }
    return this;
  }

  /** The stack's private directory, deleted by {@link #close()} (or at the next start, if this JVM dies first). */
  public Path directory() {
    return dir;
  }

  public DatabaseServer database() {
    return database;
  }

  public RedisServer redis() {
    return redis;
  }

  /**
   * The Kafka broker: {@code VERACACHE_KAFKA_BOOTSTRAP}'s if set (see {@link StackConfig}), else an embedded KRaft
   * broker in a child JVM, <b>started on the first call</b> (about 4 s, a format of its log directory included) on
   * free ports in this stack's directory, and stopped by {@link #close()}. Later calls return the same server, in
   * whatever state the caller's controls left it.
   *
   * @throws IllegalStateException if the stack is closed, or the broker does not start (naming its {@code kafka.log})
   */
  public synchronized KafkaServer kafka() {
    if (closed) {
      throw new IllegalStateException("this EmbeddedStack (" + dir + ") is closed: its Kafka broker cannot start");
    }
    if (kafka == null) {
      kafka = config.externalKafka() ? new ExternalKafkaServer(config)
          : new EmbeddedKafkaServer(dir.resolve("kafka"), StackDirectories.freePort(), StackDirectories.freePort());
    }
    if (!kafkaStarted) {
      long started = System.nanoTime();
      startIfEmbedded(kafka);
      kafkaStarted = true;
      log.info("EmbeddedStack Kafka up in {} ms: {}", (System.nanoTime() - started) / 1_000_000, kafka);
    }
    return kafka;
  }

  /**
   * A read replica of the embedded database ({@link DatabaseReplica}), <b>started on the first call</b> (a second
   * MariaDB loaded with a dump of the primary's database, about 1-3 s) in this stack's directory and stopped by
   * {@link #close()}. It applies what the primary commits from then on. Later calls return the same server, in whatever state the caller's controls left it.
   *
   * @throws UnsupportedOperationException if the database is external ({@code VERACACHE_DB_URL}): use that server's
   *     own replicas
   * @throws IllegalStateException if the stack is closed or the replica does not start
   */
  public synchronized DatabaseReplica databaseReplica() {
    if (closed) {
      throw new IllegalStateException("this EmbeddedStack (" + dir + ") is closed: its database replica cannot start");
    }
    if (!(database instanceof EmbeddedMariaDbServer primary)) {
      throw new UnsupportedOperationException("a database replica needs the embedded database; " + database
          + " is external: point loaders at its own replicas");
    }
    if (replica == null) {
      long started = System.nanoTime();
      EmbeddedMariaDbReplica created = new EmbeddedMariaDbReplica(dir.resolve("mariadb-replica"),
          StackDirectories.freePort(), primary);
      try {
        created.start();
      } catch (RuntimeException e) {
        stopQuietly(created);
        throw e;
      }
      replica = created;
      log.info("EmbeddedStack database replica up in {} ms: {}", (System.nanoTime() - started) / 1_000_000, replica);
    }
    return replica;
  }

  /**
   * This stack's shared Kafka Connect worker, <b>started on the first call</b> with no connector (see
   * {@link #kafkaConnect(java.util.List)}); tests add and remove their connectors on it
   * ({@link KafkaConnectWorker#addConnector}), which saves a worker's start (a JVM, about 5 s) per test.
   */
  public synchronized KafkaConnectWorker kafkaConnect() {
    if (sharedConnect == null) {
      sharedConnect = kafkaConnect(java.util.List.of());
    }
    return sharedConnect;
  }

  /**
   * A new Kafka Connect worker (standalone mode, a child JVM on this JVM's jars) running these source connectors
   * against {@link #kafka()}'s broker (started first if need be), in its own directory of this stack; it returns once
   * every connector and task is RUNNING, and is stopped by {@link #close()}. Each configuration is what one would POST
   * to Connect's REST API as {@code config}, {@code name} included; the connectors' jars (Debezium's) must be on this
   * JVM's class path. Records are written by {@code JsonConverter} with schemas (see {@link KafkaConnectWorker}).
   *
   * @throws IllegalArgumentException for a configuration without {@code name} or {@code connector.class}
   * @throws IllegalStateException if the stack is closed or a connector does not reach RUNNING (naming the worker's
   *     {@code connect.log})
   */
  public synchronized KafkaConnectWorker kafkaConnect(java.util.List<java.util.Map<String, String>> connectors) {
    if (closed) {
      throw new IllegalStateException("this EmbeddedStack (" + dir + ") is closed: its Kafka Connect worker cannot "
          + "start");
    }
    String bootstrap = kafka().bootstrapServers();
    long started = System.nanoTime();
    EmbeddedKafkaConnect worker = new EmbeddedKafkaConnect(dir.resolve("connect-" + connectWorkersStarted++),
        StackDirectories.freePort(), bootstrap, connectors);
    try {
      worker.start();
    } catch (RuntimeException e) {
      stopQuietly(worker);
      throw e;
    }
    connectWorkers.add(worker);
    log.info("EmbeddedStack Kafka Connect up in {} ms: {}", (System.nanoTime() - started) / 1_000_000, worker);
    return worker;
  }

  /**
   * A Redis Cluster of three masters with one replica each ({@link RedisCluster}), <b>started on the first call</b>
   * (six redis-servers of the same binary as {@link #redis()}, on free ports, in this stack's directory; about 2 s)
   * and stopped by {@link #close()}. Later calls return the same cluster, in whatever state the caller left it.
   *
   * @throws IllegalStateException if the stack is closed or the cluster does not form
   */
  public synchronized RedisCluster redisCluster() {
    if (closed) {
      throw new IllegalStateException("this EmbeddedStack (" + dir + ") is closed: its Redis Cluster cannot start");
    }
    if (redisCluster == null) {
      long started = System.nanoTime();
      EmbeddedRedisCluster created = new EmbeddedRedisCluster(dir.resolve("redis-cluster"), config.redisBinary);
      try {
        created.start();
      } catch (RuntimeException e) {
        created.stop();
        throw e;
      }
      redisCluster = created;
      log.info("EmbeddedStack Redis Cluster up in {} ms: {}", (System.nanoTime() - started) / 1_000_000, created);
    }
    return redisCluster;
  }

  /** Whether {@link #kafka()} has been called (and the broker, if embedded, started): nothing to heal otherwise. */
  public synchronized boolean kafkaStarted() {
    return kafkaStarted;
  }

  /** Stops the embedded servers and deletes the private directory. */
  @Override
  public void close() {
    stopServers();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook is running or has run
    }
  }

  private synchronized void stopServers() {
    if (closed) {
      return;
    }
    closed = true;
    stopQuietly(redis);
    connectWorkers.forEach(EmbeddedStack::stopQuietly);
    if (redisCluster != null) {
      redisCluster.stop();
    }
    if (kafka != null) {
      stopQuietly(kafka);
    }
    if (replica != null) {
      stopQuietly(replica);
    }
    stopQuietly(database);
    StackDirectories.deleteStack(dir);
  }

  @Override
  public synchronized String toString() {
    return "EmbeddedStack[database " + database + "; Redis " + redis + "; Kafka "
        + (kafkaStarted ? kafka : config.externalKafka() ? "external, not yet used" : "not started") + "]";
  }

  private static void stopQuietly(ServerControls server) {
    if (!server.controllable()) {
      return;
    }
    try {
      server.stop();
    } catch (RuntimeException e) {
      log.warn("stopping {} failed: {}", server, e.getMessage());
    }
  }
}
