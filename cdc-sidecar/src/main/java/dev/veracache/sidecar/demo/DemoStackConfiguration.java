package dev.veracache.sidecar.demo;

import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Demo mode: with {@code veracache.cdc.embedded-stack=true} and the embedded stack on the class path (the demo jar, or
 * this module's tests), starts the demo servers. The class-name condition keeps the production jar, which has no
 * embedded stack, from loading any of it; {@link dev.veracache.sidecar.SidecarConfigurationCheck} refuses demo mode
 * there with a message naming the demo jar.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "veracache.cdc.embedded-stack", havingValue = "true")
@ConditionalOnClass(name = DemoStackConfiguration.EMBEDDED_STACK)
public class DemoStackConfiguration {

  /** The class that is present only where the embedded stack is (the demo jar). */
  public static final String EMBEDDED_STACK = "dev.veracache.stack.EmbeddedStack";

  /** Destroyed after the listener stopped (lifecycles stop before beans are destroyed). */
  @Bean(destroyMethod = "close")
  EmbeddedDemoServers demoServers() {
    return EmbeddedDemoServers.start();
  }
}
