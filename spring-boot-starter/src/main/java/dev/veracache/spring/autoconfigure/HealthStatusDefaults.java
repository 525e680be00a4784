package dev.veracache.spring.autoconfigure;

import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Ranks the {@code DEGRADED} status of {@code veracacheRedis} between OUT_OF_SERVICE and UP in Spring Boot's health
 * aggregation (otherwise an unknown status outranks DOWN), as a lowest-precedence default: an application that sets
 * {@code management.endpoint.health.status.order} keeps its own. DEGRADED answers HTTP 200.
 */
public class HealthStatusDefaults implements EnvironmentPostProcessor {

  static final String ORDER = "management.endpoint.health.status.order";

  @Override
  public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
    environment.getPropertySources().addLast(new MapPropertySource("veracacheHealthDefaults",
        Map.of(ORDER, "DOWN,OUT_OF_SERVICE,DEGRADED,UP,UNKNOWN")));
  }
}
