package dev.veracache.sidecar;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The CDC invalidator as a service: {@code java -jar veracache-cdc-sidecar-<version>.jar} with {@code application.yml}
 * (production: no database inside), or {@code java -jar veracache-cdc-sidecar-<version>-demo.jar
 * --veracache.cdc.embedded-stack=true} (demo: its own MariaDB and Redis, {@link dev.veracache.sidecar.demo}).
 * Settings are checked before anything starts ({@link SidecarConfigurationCheck}); configuration failures are printed
 * as a description and an action ({@link SidecarFailureAnalyzer}).
 */
@SpringBootApplication
@EnableConfigurationProperties(CdcSidecarProperties.class)
public class CdcSidecarApplication {

  public static void main(String[] args) {
    SpringApplication.run(CdcSidecarApplication.class, args);
  }

  /** With the demo servers when demo mode is on ({@link dev.veracache.sidecar.demo.DemoStackConfiguration}). */
  @Bean
  CdcInvalidatorLifecycle cdcInvalidatorLifecycle(CdcSidecarProperties properties, ObjectProvider<DemoServers> demo,
      MeterRegistry registry) {
    return new CdcInvalidatorLifecycle(properties, demo.getIfAvailable(), registry);
  }

  @Bean
  CdcHealthIndicator cdcHealthIndicator(CdcInvalidatorLifecycle listener) {
    return new CdcHealthIndicator(listener);
  }
}
