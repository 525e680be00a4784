package dev.veracache.sidecar;

import dev.veracache.sidecar.demo.DemoStackConfiguration;
import dev.veracache.spring.cdc.CdcConfigurationException;
import dev.veracache.spring.cdc.CdcMappings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;
import org.springframework.util.ClassUtils;

/**
 * Checks the sidecar's own settings before any bean, server or listener starts (registered in
 * {@code META-INF/spring.factories}; runs once the environment, YAML and environment variables included, is ready):
 * demo mode in the production jar, no mappings outside demo mode (the sidecar has no beans that could bring them), a
 * demo schema file that is missing or given outside demo mode. The mapping file itself, and every other
 * {@code veracache.cdc} setting, is checked by the starter ({@code CdcConfigurationCheck}). Each failure is a
 * {@link CdcConfigurationException}, which the starter's {@code CdcFailureAnalyzer} prints first, without a trace.
 *
 * <p>Invariant: it only reads settings and files; it starts nothing, so a refused start leaves nothing behind.
 */
public class SidecarConfigurationCheck implements ApplicationListener<ApplicationEnvironmentPreparedEvent>, Ordered {

  public static final String EMBEDDED_STACK = "veracache.cdc.embedded-stack";
  public static final String DEMO_SCHEMA = "veracache.cdc.demo-schema";

  @Override
  public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
    Binder binder = Binder.get(event.getEnvironment());
    if (!binder.bind("spring.application.name", String.class).map("veracache-cdc-sidecar"::equals).orElse(false)) {
      return; // another application in this JVM (tests): not the sidecar's settings
    }
    boolean demo = binder.bind(EMBEDDED_STACK, Boolean.class).orElse(false);
    ClassLoader loader = event.getSpringApplication().getClassLoader();
    if (demo && !ClassUtils.isPresent(DemoStackConfiguration.EMBEDDED_STACK, loader)) {
      throw new CdcConfigurationException(EMBEDDED_STACK + "=true asks for the demo's embedded MariaDB and Redis, "
          + "but this is the production jar (veracache-cdc-sidecar-<version>.jar), which ships no database.",
          "For the demo run the demo jar: java -jar veracache-cdc-sidecar-<version>-demo.jar "
          + "--" + EMBEDDED_STACK + "=true. In production leave " + EMBEDDED_STACK + " unset and give the database "
          + "(veracache.cdc.database.*), Redis (veracache.cdc.redis.uri) and the mapping file ("
          + CdcMappings.FILE_PROPERTY + ").");
    }
    if (demo && binder.bind("veracache.cdc.kafka.enabled", Boolean.class).orElse(false)) {
      throw new CdcConfigurationException(EMBEDDED_STACK + "=true and veracache.cdc.kafka.enabled=true: the demo reads "
          + "its embedded MariaDB's binlog itself; Kafka mode reads change events a Kafka Connect worker wrote, and "
          + "the demo runs no Kafka.",
          "For the demo leave veracache.cdc.kafka.enabled unset. For Kafka mode use the production jar against your "
          + "Kafka and Connect (see cdc-sidecar's README, \"Kafka mode\"), or docker compose --profile kafka.");
    }
    boolean mappings = binder.bind(CdcMappings.FILE_PROPERTY, Path.class).isBound()
        || binder.bind(CdcMappings.TABLES_PROPERTY, Bindable.listOf(Map.class)).isBound();
    if (!mappings && !demo) {
      throw new CdcConfigurationException("No mapping file: " + CdcMappings.FILE_PROPERTY + " (VERACACHE_CDC_MAPPINGS) "
          + "is not set, so the sidecar does not know which tables invalidate which cache keys.",
          "Set " + CdcMappings.FILE_PROPERTY + " to the YAML file of table mappings (see cdc-invalidator's README), or "
          + "try the demo: java -jar veracache-cdc-sidecar-<version>-demo.jar --" + EMBEDDED_STACK + "=true.");
    }
    Path schema = binder.bind(DEMO_SCHEMA, Path.class).orElse(null);
    if (schema != null) {
      if (!demo) {
        throw new CdcConfigurationException(DEMO_SCHEMA + " ('" + schema + "') is only run against the embedded "
            + "demo database, and " + EMBEDDED_STACK + " is not true.",
            "Against your own database create the tables yourself and remove " + DEMO_SCHEMA + ", or add --"
            + EMBEDDED_STACK + "=true (demo jar).");
      }
      if (!Files.isRegularFile(schema) || !Files.isReadable(schema)) {
        throw new CdcConfigurationException(DEMO_SCHEMA + " names '" + schema + "', which "
            + (Files.exists(schema) ? "is not a readable file" : "does not exist") + " (working directory "
            + Path.of("").toAbsolutePath() + ").",
            "Give the path of a SQL file (statements separated by ';') that creates the tables your mapping file maps.");
      }
    }
  }

  /** After Spring Boot's own listeners (logging is set up, the configuration files are read). */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
