package dev.veracache.spring.cdc;

import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;

/**
 * Checks the listener's settings and its mappings (the file of {@code veracache.cdc.mappings}, or
 * {@code veracache.cdc.tables}) once the environment is ready, before any bean, server or listener starts (registered
 * in {@code META-INF/spring.factories}), so a configuration problem is the first thing printed
 * ({@link CdcFailureAnalyzer}; a setting that does not bind, such as a bad duration, by Spring Boot's own analyzer,
 * naming the property). The auto-configuration checks the same again when it builds its beans (an
 * {@code ApplicationContextRunner} has no such event).
 *
 * <p>Invariant: it only reads settings and files, and only with {@code veracache.cdc.enabled=true}; no mappings at all
 * is left to the auto-configuration (an application may define them as a bean).
 */
public class CdcConfigurationCheck implements ApplicationListener<ApplicationEnvironmentPreparedEvent>, Ordered {

  @Override
  public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
    Binder binder = Binder.get(event.getEnvironment());
    if (!binder.bind(CdcProperties.PREFIX + ".enabled", Boolean.class).orElse(false)) {
      return;
    }
    CdcProperties properties = binder.bindOrCreate(CdcProperties.PREFIX, CdcProperties.class);
    if (properties.kafka().enabled()) {
      try {
        properties.kafka().toSource();
      } catch (IllegalArgumentException e) {
        throw new CdcConfigurationException("A " + CdcProperties.PREFIX + ".kafka setting is not valid: "
            + e.getMessage(), "Fix that setting (application.yml, --" + CdcProperties.PREFIX + ".kafka.* or "
            + "VERACACHE_CDC_KAFKA_*) and start again.", e);
      }
    }
    new PropertiesCdcConnectionDetails(properties, event.getEnvironment()); // one Redis or a cluster, not both
    if (properties.mappings() != null || !properties.tables().isEmpty()) {
      CdcMappings.fromProperties(properties);
    }
  }

  /** After Spring Boot's own listeners (logging is set up, the configuration files are read). */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
