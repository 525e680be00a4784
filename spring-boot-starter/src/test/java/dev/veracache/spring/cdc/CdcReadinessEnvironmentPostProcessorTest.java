package dev.veracache.spring.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The readiness default is added only where both of its members exist and the application set no group itself. */
class CdcReadinessEnvironmentPostProcessorTest {

  private static final String INCLUDE = CdcReadinessEnvironmentPostProcessor.READINESS_INCLUDE;

  private static StandardEnvironment processed(Map<String, Object> properties) {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
    new CdcReadinessEnvironmentPostProcessor().postProcessEnvironment(environment, new SpringApplication());
    return environment;
  }

  @Test
  void withCdcEnabledTheReadinessGroupIncludesTheListenersHealth() {
    assertThat(processed(Map.of("veracache.cdc.enabled", "true")).getProperty(INCLUDE))
        .isEqualTo("readinessState,veracacheCdc");
  }

  @Test
  void withoutCdcEnabledTheReadinessGroupIsLeftAlone() {
    assertThat(processed(Map.of()).getProperty(INCLUDE)).isNull();
  }

  @Test
  void aReadinessGroupTheApplicationConfiguredIsLeftAsItIs() {
    assertThat(processed(Map.of("veracache.cdc.enabled", "true", INCLUDE, "readinessState,db")).getProperty(INCLUDE))
        .isEqualTo("readinessState,db");
    assertThat(processed(Map.of("veracache.cdc.enabled", "true", INCLUDE + "[0]", "db")).getProperty(INCLUDE))
        .isNull();
  }

  @Test
  void withoutProbesOrWithTheIndicatorDisabledNothingIsAddedThatBootWouldRefuse() {
    assertThat(processed(Map.of("veracache.cdc.enabled", "true", "management.endpoint.health.probes.enabled",
        "false")).getProperty(INCLUDE)).isNull();
    assertThat(processed(Map.of("veracache.cdc.enabled", "true", "management.health.veracache-cdc.enabled",
        "false")).getProperty(INCLUDE)).isNull();
    assertThat(processed(Map.of("veracache.cdc.enabled", "true", "management.health.defaults.enabled",
        "false")).getProperty(INCLUDE)).isNull();
  }
}
