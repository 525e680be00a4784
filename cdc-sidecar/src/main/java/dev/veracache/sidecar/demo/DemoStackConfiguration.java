package dev.veracache.sidecar.demo;

import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.sidecar.DemoModeProperties;
import dev.veracache.sidecar.SidecarConfigurationCheck;
import dev.veracache.spring.cdc.CdcConfigurationException;
import dev.veracache.spring.cdc.CdcMappings;
import dev.veracache.spring.cdc.CdcProperties;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.support.EncodedResource;
import org.springframework.jdbc.datasource.init.ScriptException;
import org.springframework.jdbc.datasource.init.ScriptUtils;

/**
 * Demo mode: with {@code veracache.cdc.embedded-stack=true} and the embedded stack on the class path (the demo jar, or
 * this module's tests), starts the demo servers, which the starter's listener then uses (they are its
 * {@code CdcConnectionDetails}), and, without a mapping of the user's, gives it the bundled demo mapping. The
 * class-name condition keeps the production jar, which has no embedded stack, from loading any of it;
 * {@link SidecarConfigurationCheck} refuses demo mode there with a message naming the demo jar.
 *
 * <p>Invariants: the demo table and {@code veracache.cdc.demo-schema} are created when the servers start, before the
 * listener checks its mappings against the database; demo state lives in the servers' temporary directory, new at each
 * start and deleted with them (a demo never reads an earlier demo's position).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "veracache.cdc.embedded-stack", havingValue = "true")
@ConditionalOnClass(name = DemoStackConfiguration.EMBEDDED_STACK)
public class DemoStackConfiguration {

  /** The class that is present only where the embedded stack is (the demo jar). */
  public static final String EMBEDDED_STACK = "dev.veracache.stack.EmbeddedStack";
  static final String DEMO_MAPPINGS = "/embedded-demo-mappings.yml";
  /** The default of veracache.cdc.state-directory. */
  private static final Path DEFAULT_STATE_DIRECTORY = Path.of("cdc-state");
  private static final Logger log = LoggerFactory.getLogger(DemoStackConfiguration.class);

  /** Destroyed after the listener stopped (lifecycles stop before beans are destroyed). */
  @Bean(destroyMethod = "close")
  EmbeddedDemoServers demoServers(CdcProperties cdc, DemoModeProperties demo) {
    EmbeddedDemoServers servers = EmbeddedDemoServers.start();
    try {
      if (!DEFAULT_STATE_DIRECTORY.equals(cdc.stateDirectory().normalize())) {
        log.warn("veracache.cdc.state-directory ({}) is not used in demo mode: each demo starts a new database, so its "
            + "state lives in {} and is deleted at exit", cdc.stateDirectory(), servers.stateDirectory());
      }
      if (usesTheDemoMapping(cdc)) {
        createDemoTable(servers);
      }
      if (demo.demoSchema() != null) {
        runDemoSchema(servers, demo.demoSchema());
      }
      return servers;
    } catch (RuntimeException e) {
      servers.close();
      throw e;
    }
  }

  /** The user's mappings, or the bundled demo mapping when none is given. */
  @Bean
  CdcMappings cdcMappings(CdcProperties cdc) {
    if (!usesTheDemoMapping(cdc)) {
      return CdcMappings.fromProperties(cdc);
    }
    try (InputStream in = DemoStackConfiguration.class.getResourceAsStream(DEMO_MAPPINGS)) {
      return new CdcMappings(InvalidationMappings.fromYaml(in, DEMO_MAPPINGS),
          "the bundled demo mapping " + DEMO_MAPPINGS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the bundled " + DEMO_MAPPINGS + ": " + e.getMessage(), e);
    }
  }

  private static boolean usesTheDemoMapping(CdcProperties cdc) {
    return cdc.mappings() == null && cdc.tables().isEmpty();
  }

  /** The table the bundled demo mapping maps, in the demo database. */
  private static void createDemoTable(EmbeddedDemoServers demo) {
    try (Connection c = demo.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS product (id BIGINT PRIMARY KEY, sku VARCHAR(40) NOT NULL, "
          + "name VARCHAR(200) NOT NULL, version BIGINT NOT NULL)");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the demo table veracache.product: " + e.getMessage(), e);
    }
  }

  /** Runs the SQL file of {@code veracache.cdc.demo-schema} against the demo database, before the mapping is checked. */
  private static void runDemoSchema(EmbeddedDemoServers demo, Path file) {
    try (Connection c = demo.connect()) {
      ScriptUtils.executeSqlScript(c, new EncodedResource(new FileSystemResource(file), StandardCharsets.UTF_8));
    } catch (ScriptException | SQLException e) {
      throw new CdcConfigurationException("The demo schema " + file + " (" + SidecarConfigurationCheck.DEMO_SCHEMA
          + ") failed against the demo database: " + e.getMessage(),
          "Fix the SQL file (MariaDB 11.4 syntax, statements separated by ';') and start again.", e);
    }
    log.info("demo database: ran {} ({})", file, SidecarConfigurationCheck.DEMO_SCHEMA);
  }
}
