package dev.veracache.spring.autoconfigure;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.spring.cdc.CdcConnectionDetails;
import dev.veracache.spring.cdc.CdcHealthIndicator;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import dev.veracache.spring.cdc.CdcLifecycleCallbacks;
import dev.veracache.spring.cdc.CdcMappings;
import dev.veracache.spring.cdc.CdcProperties;
import dev.veracache.spring.cdc.PropertiesCdcConnectionDetails;
import dev.veracache.spring.cdc.ShutdownInterruptFilter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The CDC listener as a bean when {@code veracache.cdc.enabled=true}: its settings ({@link CdcProperties}), where it
 * connects ({@link CdcConnectionDetails}), its mappings ({@link CdcMappings}: a file, inline tables, or an
 * {@link InvalidationMappings} bean), the {@link CdcInvalidatorLifecycle} that starts and stops it, and, with actuator
 * health, the {@code veracacheCdc} health indicator (UP only while the listener is live; in the readiness group by
 * default, see {@link dev.veracache.spring.cdc.CdcReadinessEnvironmentPostProcessor}).
 *
 * <p>Invariants: nothing is created unless {@code veracache.cdc.enabled=true}; an application's own
 * {@link CdcInvalidator} bean replaces the lifecycle, connection details and mappings (the health indicator then
 * reports that bean); each bean here backs off for one of the application's of the same type.
 */
@AutoConfiguration
@ConditionalOnClass(CdcInvalidator.class)
@ConditionalOnBooleanProperty(CdcProperties.PREFIX + ".enabled")
@EnableConfigurationProperties(CdcProperties.class)
public class VeracacheCdcAutoConfiguration {

  /** The listener this starter runs, unless the application has its own {@link CdcInvalidator}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnMissingBean(CdcInvalidator.class)
  static class Listener {

    @Bean
    @ConditionalOnMissingBean
    CdcConnectionDetails cdcConnectionDetails(CdcProperties properties, Environment environment) {
      return new PropertiesCdcConnectionDetails(properties, environment);
    }

    @Bean
    @ConditionalOnMissingBean
    CdcMappings cdcMappings(CdcProperties properties, ObjectProvider<InvalidationMappings> own) {
      InvalidationMappings mappings = own.getIfUnique();
      return mappings != null ? new CdcMappings(mappings, "the InvalidationMappings bean")
          : CdcMappings.fromProperties(properties);
    }

    @Bean
    @ConditionalOnMissingBean
    CdcInvalidatorLifecycle cdcInvalidatorLifecycle(CdcProperties properties, CdcConnectionDetails connection,
        CdcMappings mappings, ObjectProvider<MeterRegistry> registry, ObjectProvider<CdcLifecycleCallbacks> callbacks) {
      return new CdcInvalidatorLifecycle(properties, connection, mappings,
          registry.getIfUnique(() -> Metrics.globalRegistry), callbacks.orderedStream().toList());
    }
  }

  /** With Logback: Debezium's interrupted work is not logged as an error when the listener is being stopped. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "ch.qos.logback.classic.LoggerContext")
  @ConditionalOnMissingBean(CdcInvalidator.class)
  static class QuietStop {

    @Bean
    CdcLifecycleCallbacks veracacheCdcShutdownInterruptFilter() {
      return ShutdownInterruptFilter.install();
    }
  }

  /** Actuator health: {@code veracacheCdc}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
  @ConditionalOnEnabledHealthIndicator(CdcHealthIndicator.PROPERTY_NAME)
  static class Health {

    @Bean
    @ConditionalOnMissingBean(name = "veracacheCdcHealthIndicator")
    CdcHealthIndicator veracacheCdcHealthIndicator(ObjectProvider<CdcInvalidatorLifecycle> lifecycle,
        ObjectProvider<CdcInvalidator> own) {
      CdcInvalidatorLifecycle ours = lifecycle.getIfAvailable();
      return new CdcHealthIndicator(ours != null ? ours::invalidator : own::getIfAvailable);
    }
  }
}
