package dev.veracache.demo;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The demo's own settings (prefix {@code demo}); the caches' are the starter's {@code veracache.*}, the database's
 * {@code spring.datasource.*}.
 *
 * @param embeddedStack start MariaDB, Redis and a Kafka broker inside the app (the default); {@code false} in the
 *     {@code compose} profile, where they are external servers
 * @param products how many products the seed creates when the tables are empty
 * @param kafka the Kafka cluster of the flash sale's log
 * @param sale the flash sale's log
 */
@ConfigurationProperties("demo")
public record DemoProperties(@DefaultValue("true") boolean embeddedStack, @DefaultValue("200") int products,
    @DefaultValue Kafka kafka, @DefaultValue Sale sale) {

  public static final String EMBEDDED_STACK = "demo.embedded-stack";
  public static final String KAFKA_BOOTSTRAP_SERVERS = "demo.kafka.bootstrap-servers";

  /** @param bootstrapServers {@code host:port[,host:port]}; set from the embedded broker in embedded mode */
  public record Kafka(@DefaultValue("127.0.0.1:9092") String bootstrapServers) {}

  /**
   * @param topic the flash sale's log (its dead-letter topic is {@code topic + ".dlt"}); both created at start
   * @param partitions partitions of the log (fixed: a sale and its RELEASE must share a partition)
   */
  public record Sale(@DefaultValue("shop.stock-sales") String topic, @DefaultValue("3") int partitions) {}
}
