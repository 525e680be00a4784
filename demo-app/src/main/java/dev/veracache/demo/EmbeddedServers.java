package dev.veracache.demo;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.KafkaServer;
import dev.veracache.stack.StackConfig;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.support.EncodedResource;
import org.springframework.jdbc.datasource.init.ScriptUtils;

/**
 * Embedded mode's servers: the embedded stack's MariaDB (binlog on, for the in-app CDC listener) and Redis, its Kafka
 * broker (a child JVM), and the shop schema ({@value #SCHEMA}) created in MariaDB, all before the application context
 * starts.
 *
 * <p>Invariants: once started, the stack's own JVM shutdown hook is removed ({@link #closedByCaller()}): the context
 * closes it as its last disposable bean, after the CDC listener, the stock flusher, the web server and every client
 * of the servers stopped (see {@link EmbeddedStackStarter}); if the JVM dies without closing, the stack's watchdogs
 * kill the servers. The CDC state lives in the stack's directory, deleted with it (each demo has a new database).
 */
final class EmbeddedServers implements DemoServers {

  static final String SCHEMA = "db/shop-schema.sql";
  private static final Logger log = LoggerFactory.getLogger(EmbeddedServers.class);

  private final EmbeddedStack stack;
  private final KafkaServer kafka;
  private boolean closed;

  private EmbeddedServers(EmbeddedStack stack, KafkaServer kafka) {
    this.stack = stack;
    this.kafka = kafka;
  }

  /**
   * Starts MariaDB, Redis and Kafka and creates the shop schema; stops what started if anything fails. The stack's own
   * JVM shutdown hook stays until {@link #closedByCaller()}: a Ctrl-C during the start (the broker takes seconds)
   * stops the servers too.
   */
  static EmbeddedServers start() {
    EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded());
    try {
      KafkaServer kafka = stack.kafka();
      createSchema(stack);
      return new EmbeddedServers(stack, kafka);
    } catch (RuntimeException | Error e) {
      stack.close();
      throw e;
    }
  }

  private static void createSchema(EmbeddedStack stack) {
    try (Connection c = stack.database().connect()) {
      ScriptUtils.executeSqlScript(c, new EncodedResource(new ClassPathResource(SCHEMA), StandardCharsets.UTF_8));
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the shop schema (" + SCHEMA + ") in the embedded MariaDB: "
          + e.getMessage(), e);
    }
    log.info("embedded MariaDB: shop schema created from {}", SCHEMA);
  }

  @Override
  public Map<String, Object> properties() {
    Map<String, Object> p = new LinkedHashMap<>();
    String host = stack.database().host();
    int port = stack.database().port();
    p.put("spring.datasource.url", "jdbc:mysql://" + host + ":" + port
        + "/shop?useSSL=false&allowPublicKeyRetrieval=true&connectTimeout=5000");
    p.put("spring.datasource.username", stack.database().user());
    p.put("spring.datasource.password", stack.database().password());
    p.put("veracache.redis.uri", stack.redis().uri());
    p.put("veracache.cdc.database.host", host);
    p.put("veracache.cdc.database.port", port);
    p.put("veracache.cdc.database.user", stack.database().user());
    p.put("veracache.cdc.database.password", stack.database().password());
    p.put("veracache.cdc.state-directory", stack.directory().resolve("cdc-state").toString());
    // A new database and a new Redis at each start: nothing was cached before the listener's first start.
    p.put("veracache.cdc.first-start", "ASSUME_FRESH_INSTALL");
    p.put(DemoProperties.KAFKA_BOOTSTRAP_SERVERS, kafka.bootstrapServers());
    return p;
  }

  @Override
  public void closedByCaller() {
    stack.closedByCaller();
  }

  @Override
  public void pauseRedis() {
    stack.redis().pause();
  }

  @Override
  public void resumeRedis() {
    stack.redis().resume();
  }

  /** Stops the Kafka broker, Redis and MariaDB, and deletes their directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stack.close();
  }

  @Override
  public String toString() {
    return "the embedded stack (" + stack.database() + ", " + stack.redis() + ", " + kafka + ")";
  }
}
