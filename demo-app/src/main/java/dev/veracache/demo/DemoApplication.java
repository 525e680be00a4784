package dev.veracache.demo;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.annotation.EnableCaching;

/**
 * The Veracache demo: a small shop on {@code veracache-spring-boot-starter} that uses the four strategies (products
 * cache-aside through {@code @Cacheable}, product pages read-through, prices write-through, flash-sale stock written
 * behind), a live page of their numbers ({@code /}), and buttons that break things ({@link DemoController}).
 *
 * <p>Embedded mode (the default) starts MariaDB, Redis and a Kafka broker before anything needs them
 * ({@link EmbeddedStackStarter}) and stops them last; the {@code compose} profile uses external servers. Once ready it
 * prints one line, {@code Veracache demo: open http://localhost:<port>/} ({@link ReadyLine}).
 */
@SpringBootApplication
@EnableCaching
@EnableConfigurationProperties(DemoProperties.class)
public class DemoApplication {

  public static void main(String[] args) {
    SpringApplication.run(DemoApplication.class, args);
  }
}
