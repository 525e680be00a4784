package dev.veracache.stack;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5: injects {@link EmbeddedStack}, {@link DatabaseServer}, {@link RedisServer} and {@link KafkaServer} into test
 * constructors, lifecycle methods and tests. One stack per test JVM, started on first use and closed when JUnit
 * finishes; the Kafka broker is started on the first injection of a {@link KafkaServer} (or call of
 * {@link EmbeddedStack#kafka()}). Before each test, servers a previous test left stopped or paused are brought back
 * (Kafka only if it was started), so fault injection cannot leak between tests.
 *
 * <pre>{@code
 * @ExtendWith(EmbeddedStackExtension.class)
 * class MyTest {
 *   @Test void works(DatabaseServer db, RedisServer redis) { ... }
 * }
 * }</pre>
 */
public final class EmbeddedStackExtension implements ParameterResolver, BeforeEachCallback {

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(EmbeddedStack.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == EmbeddedStack.class || type == DatabaseServer.class || type == RedisServer.class
        || type == KafkaServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    EmbeddedStack stack = stack(context);
    Class<?> type = parameter.getParameter().getType();
    if (type == DatabaseServer.class) {
      return stack.database();
    }
    if (type == RedisServer.class) {
      return stack.redis();
    }
    if (type == KafkaServer.class) {
      return stack.kafka();
    }
    return stack;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    heal(stack(context));
  }

  /**
   * What runs before each test: resumes a paused server and starts a stopped (or killed) one (database first, then
   * Redis, then Kafka if {@link EmbeddedStack#kafka()} started it). External servers are left alone. Package-private
   * so a test can drive exactly this step.
   */
  static void heal(EmbeddedStack stack) {
    heal(stack.database());
    heal(stack.redis());
    if (stack.kafkaStarted()) {
      heal(stack.kafka());
    }
  }

  private static void heal(ServerControls server) {
    if (!server.controllable()) {
      return;
    }
    if (server.isPaused()) {
      server.resume();
    }
    if (!server.isRunning()) {
      server.start();
    }
  }

  private static EmbeddedStack stack(ExtensionContext context) {
    return context.getRoot().getStore(NAMESPACE)
        .computeIfAbsent(EmbeddedStack.class, k -> new StoredStack(EmbeddedStack.start()), StoredStack.class)
        .stack;
  }

  /** Closed by JUnit when the root context closes (end of the test run). */
  private record StoredStack(EmbeddedStack stack) implements AutoCloseable {
    @Override
    public void close() {
      stack.close();
    }
  }
}
