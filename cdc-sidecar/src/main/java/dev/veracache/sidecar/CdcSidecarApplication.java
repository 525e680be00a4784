package dev.veracache.sidecar;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * The CDC invalidator as a service: {@code java -jar veracache-cdc-sidecar-<version>.jar} with {@code application.yml}
 * (production: no database inside), or {@code java -jar veracache-cdc-sidecar-<version>-demo.jar
 * --veracache.cdc.embedded-stack=true} (demo: its own MariaDB and Redis, {@link dev.veracache.sidecar.demo}).
 *
 * <p>A thin application on {@code veracache-spring-boot-starter}: {@code veracache.cdc.enabled=true}
 * ({@code application.yml}) makes the starter run the listener ({@code CdcInvalidatorLifecycle}), its health
 * ({@code veracacheCdc}, in the readiness group), check its settings and mappings first and print configuration
 * failures as a description and an action. What is the sidecar's own: the demo servers and the checks of the sidecar's
 * settings ({@link SidecarConfigurationCheck}).
 */
@SpringBootApplication
@EnableConfigurationProperties(DemoModeProperties.class)
public class CdcSidecarApplication {

  public static void main(String[] args) {
    SpringApplication.run(CdcSidecarApplication.class, args);
  }

}
