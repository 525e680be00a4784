package dev.veracache.sidecar;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.StackConfig;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/** The CDC invalidator as a service: {@code java -jar veracache-cdc-sidecar.jar} with {@code application.yml}. */
@SpringBootApplication
@EnableConfigurationProperties(CdcSidecarProperties.class)
public class CdcSidecarApplication {

  public static void main(String[] args) {
    SpringApplication.run(CdcSidecarApplication.class, args);
  }

  @Bean(destroyMethod = "close")
  @ConditionalOnProperty(name = "veracache.cdc.embedded-stack", havingValue = "true")
  EmbeddedStack embeddedStack() {
    return EmbeddedStack.start(StackConfig.embedded());
  }

  @Bean
  CdcListener cdcListener(CdcSidecarProperties properties, ObjectProvider<EmbeddedStack> stack,
      MeterRegistry registry) {
    return new CdcListener(properties, stack.getIfAvailable(), registry);
  }

  @Bean
  CdcHealthIndicator cdcHealthIndicator(CdcListener listener) {
    return new CdcHealthIndicator(listener);
  }
}
