package dev.veracache.demo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.event.ApplicationFailedEvent;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Embedded mode ({@code demo.embedded-stack=true}, the default): starts MariaDB, Redis and Kafka ({@link
 * EmbeddedServers}) once the environment is prepared, before any auto-configuration reads {@code spring.datasource.*},
 * {@code veracache.redis.uri}, {@code veracache.cdc.*} or {@code demo.kafka.bootstrap-servers}, and puts those
 * properties first in the environment. Registered in {@code META-INF/spring.factories}, so {@code @SpringBootTest}
 * gets it too.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The servers stop last.</b> They are handed to the context as its first disposable singleton, so they are
 *       destroyed after every lifecycle stopped (CDC listener, stock flusher, demo workers, web server) and after
 *       every other bean (Redis client, connection pool) was destroyed.</li>
 *   <li><b>Nothing is left running.</b> A start that fails, or a JVM stopped before the context took the servers (an
 *       early Ctrl-C), closes them here; otherwise the context's close does.</li>
 * </ul>
 */
public class EmbeddedStackStarter implements ApplicationListener<ApplicationEvent> {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedStackStarter.class);
  static final String EMBEDDED_STACK_CLASS = "dev.veracache.stack.EmbeddedStack";
  static final String BEAN_NAME = "demoServers";

  private volatile DemoServers servers;
  private volatile boolean handedOver;
  private Thread earlyStopHook;

  @Override
  public void onApplicationEvent(ApplicationEvent event) {
    if (event instanceof ApplicationEnvironmentPreparedEvent prepared) {
      start(prepared.getEnvironment());
    } else if (event instanceof ApplicationPreparedEvent prepared && servers != null) {
      handOver((DefaultListableBeanFactory) prepared.getApplicationContext().getBeanFactory());
    } else if (event instanceof ApplicationFailedEvent && servers != null) {
      servers.close();
    }
  }

  private void start(ConfigurableEnvironment environment) {
    if (!environment.getProperty(DemoProperties.EMBEDDED_STACK, Boolean.class, true) || servers != null) {
      return;
    }
    try {
      Class.forName(EMBEDDED_STACK_CLASS, false, EmbeddedStackStarter.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(DemoProperties.EMBEDDED_STACK + "=true (the default) but the embedded stack "
          + "(veracache-embedded-stack) is not on the class path: this is the repackaged jar, which ships no database. "
          + "Run the demo from Maven (see demo-app/README.md), or give it servers with spring.profiles.active=compose");
    }
    long started = System.nanoTime();
    DemoServers started0 = EmbeddedServers.start();
    servers = started0;
    earlyStopHook = new Thread(() -> {
      if (!handedOver) {
        started0.close();
      }
    }, "demo-embedded-stack-early-stop");
    Runtime.getRuntime().addShutdownHook(earlyStopHook);
    started0.closedByCaller(); // from now on: this class's hook until the hand-over, then the context
    environment.getPropertySources().addFirst(new MapPropertySource("demoEmbeddedStack", started0.properties()));
    log.info("embedded mode: {} up in {} ms", started0, (System.nanoTime() - started) / 1_000_000);
  }

  /** The servers become a singleton of the context, its first disposable bean: destroyed last. */
  private void handOver(DefaultListableBeanFactory beanFactory) {
    DemoServers own = servers;
    beanFactory.registerSingleton(BEAN_NAME, own);
    beanFactory.registerDisposableBean(BEAN_NAME, own::close);
    handedOver = true;
    try {
      Runtime.getRuntime().removeShutdownHook(earlyStopHook);
    } catch (IllegalStateException e) { // the JVM is already shutting down: the context's close stops them
      log.debug("shutdown under way while handing over the embedded servers");
    }
  }
}
