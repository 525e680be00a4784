package dev.veracache.spring.cdc;

import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import org.springframework.util.ClassUtils;

/**
 * Puts the listener's health in the readiness group, so an application does not take traffic before invalidations
 * flow: adds {@code management.endpoint.health.group.readiness.include=readinessState,veracacheCdc} as a default (the
 * lowest-precedence property source; registered in {@code META-INF/spring.factories}).
 *
 * <p>Invariant: it adds the default only where both members exist, because Spring Boot refuses a group naming a
 * contributor that does not (validate-group-membership): {@code veracache.cdc.enabled=true}, actuator health on the
 * class path, probes not disabled ({@code readinessState} exists), the {@code veracacheCdc} indicator not disabled.
 * A readiness group the application configures itself is left as it is.
 */
public class CdcReadinessEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

  public static final String READINESS_INCLUDE = "management.endpoint.health.group.readiness.include";
  static final String PROPERTY_SOURCE = "veracacheCdcReadinessDefault";
  static final String HEALTH_INDICATOR_CLASS = "org.springframework.boot.health.contributor.HealthIndicator";

  @Override
  public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
    Binder binder = Binder.get(environment);
    boolean applies = binder.bind(CdcProperties.PREFIX + ".enabled", Boolean.class).orElse(false)
        && ClassUtils.isPresent(HEALTH_INDICATOR_CLASS, application.getClassLoader())
        && binder.bind("management.endpoint.health.probes.enabled", Boolean.class).orElse(true)
        && binder.bind("management.health." + CdcHealthIndicator.PROPERTY_NAME + ".enabled", Boolean.class)
            .orElseGet(() -> binder.bind("management.health.defaults.enabled", Boolean.class).orElse(true))
        && !binder.bind(READINESS_INCLUDE, Bindable.listOf(String.class)).isBound();
    if (applies) {
      environment.getPropertySources().addLast(new MapPropertySource(PROPERTY_SOURCE,
          Map.of(READINESS_INCLUDE, "readinessState," + CdcHealthIndicator.NAME)));
    }
  }

  /** After the configuration files are read. */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
