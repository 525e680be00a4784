package dev.veracache.sidecar;

import dev.veracache.sidecar.demo.DemoStackConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;
import org.springframework.util.ClassUtils;

/**
 * Checks the settings a person most often gets wrong before any bean, server or listener starts (registered in
 * {@code META-INF/spring.factories}; runs once the environment, YAML and environment variables included, is ready):
 * demo mode in the production jar, no mapping file, a mapping file that is missing or has problems (every problem of
 * the file is reported at once), a demo schema file that is missing or given outside demo mode. Each failure is a
 * {@link SidecarConfigurationException}, which {@link SidecarFailureAnalyzer} prints first, without a trace.
 *
 * <p>Invariant: it only reads settings and files; it starts nothing, so a refused start leaves nothing behind.
 */
public class SidecarConfigurationCheck implements ApplicationListener<ApplicationEnvironmentPreparedEvent>, Ordered {

  static final String EMBEDDED_STACK = "veracache.cdc.embedded-stack";
  static final String DEMO_SCHEMA = "veracache.cdc.demo-schema";

  @Override
  public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
    Binder binder = Binder.get(event.getEnvironment());
    if (!binder.bind("spring.application.name", String.class).map("veracache-cdc-sidecar"::equals).orElse(false)) {
      return; // another application in this JVM (tests): not the sidecar's settings
    }
    boolean demo = binder.bind(EMBEDDED_STACK, Boolean.class).orElse(false);
    ClassLoader loader = event.getSpringApplication().getClassLoader();
    if (demo && !ClassUtils.isPresent(DemoStackConfiguration.EMBEDDED_STACK, loader)) {
      throw new SidecarConfigurationException(EMBEDDED_STACK + "=true asks for the demo's embedded MariaDB and Redis, "
          + "but this is the production jar (veracache-cdc-sidecar-<version>.jar), which ships no database.",
          "For the demo run the demo jar: java -jar veracache-cdc-sidecar-<version>-demo.jar "
          + "--" + EMBEDDED_STACK + "=true. In production leave " + EMBEDDED_STACK + " unset and give the database "
          + "(veracache.cdc.database.*), Redis (veracache.cdc.redis.uri) and the mapping file ("
          + MappingFiles.PROPERTY + ").");
    }
    Path mappings = binder.bind(MappingFiles.PROPERTY, Path.class).orElse(null);
    if (mappings != null) {
      MappingFiles.load(mappings);
    } else if (!demo) {
      throw new SidecarConfigurationException("No mapping file: " + MappingFiles.PROPERTY + " (VERACACHE_CDC_MAPPINGS) "
          + "is not set, so the sidecar does not know which tables invalidate which cache keys.",
          "Set " + MappingFiles.PROPERTY + " to the YAML file of table mappings (see cdc-invalidator's README), or "
          + "try the demo: java -jar veracache-cdc-sidecar-<version>-demo.jar --" + EMBEDDED_STACK + "=true.");
    }
    Path schema = binder.bind(DEMO_SCHEMA, Path.class).orElse(null);
    if (schema != null) {
      if (!demo) {
        throw new SidecarConfigurationException(DEMO_SCHEMA + " ('" + schema + "') is only run against the embedded "
            + "demo database, and " + EMBEDDED_STACK + " is not true.",
            "Against your own database create the tables yourself and remove " + DEMO_SCHEMA + ", or add --"
            + EMBEDDED_STACK + "=true (demo jar).");
      }
      if (!Files.isRegularFile(schema) || !Files.isReadable(schema)) {
        throw new SidecarConfigurationException(DEMO_SCHEMA + " names '" + schema + "', which "
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
