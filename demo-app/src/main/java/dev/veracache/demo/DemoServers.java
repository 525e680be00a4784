package dev.veracache.demo;

import java.util.Map;

/**
 * The servers of embedded mode, started by {@link EmbeddedStackStarter} before the application context and closed
 * after it: only {@link EmbeddedServers} implements it, and only it touches the embedded stack's classes, so the
 * repackaged jar (no embedded stack inside) never loads them.
 *
 * <p>Invariant: {@link #close()} is idempotent and stops the Kafka broker, Redis and MariaDB (nothing left running).
 */
public interface DemoServers extends AutoCloseable {

  /** The properties that point the application at these servers (datasource, Redis, CDC, Kafka). */
  Map<String, Object> properties();

  /**
   * From now on the servers stop only when {@link #close()} is called (by the context, after their clients), not by
   * a JVM shutdown hook of their own; until then, a JVM stopped during the start stops them.
   */
  void closedByCaller();

  /** SIGSTOP to Redis: clients time out until {@link #resumeRedis()}. */
  void pauseRedis();

  /** SIGCONT to Redis. */
  void resumeRedis();

  @Override
  void close();
}
