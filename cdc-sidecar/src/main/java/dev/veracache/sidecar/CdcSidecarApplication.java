package dev.veracache.sidecar;

import dev.veracache.spring.cdc.CdcLifecycleCallbacks;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The CDC invalidator as a service: {@code java -jar veracache-cdc-sidecar-<version>.jar} with {@code application.yml}
 * (production: no database inside), or {@code java -jar veracache-cdc-sidecar-<version>-demo.jar
 * --veracache.cdc.embedded-stack=true} (demo: its own MariaDB and Redis, {@link dev.veracache.sidecar.demo}).
 *
 * <p>A thin application on {@code veracache-spring-boot-starter}: {@code veracache.cdc.enabled=true}
 * ({@code application.yml}) makes the starter run the listener ({@code CdcInvalidatorLifecycle}), its health
 * ({@code veracacheCdc}, in the readiness group), check its settings and mappings first and print configuration
 * failures as a description and an action. What is the sidecar's own: the demo servers, the checks of the sidecar's
 * settings ({@link SidecarConfigurationCheck}), and keeping an orderly stop quiet in its log
 * ({@link ShutdownInterruptFilter}).
 */
@SpringBootApplication
@EnableConfigurationProperties(DemoModeProperties.class)
public class CdcSidecarApplication {

  public static void main(String[] args) {
    SpringApplication.run(CdcSidecarApplication.class, args);
  }

  /** Tells {@link ShutdownInterruptFilter} when the listener starts and when it begins stopping. */
  @Bean
  CdcLifecycleCallbacks shutdownInterruptFilterSwitch() {
    return new CdcLifecycleCallbacks() {
      @Override
      public void starting() {
        ShutdownInterruptFilter.running();
      }

      @Override
      public void stopping() {
        ShutdownInterruptFilter.stopping();
      }
    };
  }
}
