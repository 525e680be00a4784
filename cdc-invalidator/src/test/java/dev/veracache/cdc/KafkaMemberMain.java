package dev.veracache.cdc;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.testing.CdcHooks;
import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A Kafka-mode listener in a JVM of its own, so that a test can SIGKILL it. It applies batches as usual until one
 * carries an invalidation of the given version; that one it holds before applying (it prints {@code HOLDING <keys of
 * that version>} and waits forever), so that a kill lands while the member has the newest changes of those keys
 * polled and not applied.
 *
 * <p>Arguments: bootstrap servers, group id, topic pattern, Redis URI, table, namespace, member name, version to hold.
 */
public final class KafkaMemberMain {

  private KafkaMemberMain() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String group = args[1];
    String pattern = args[2];
    String redisUri = args[3];
    String table = args[4];
    String namespace = args[5];
    String name = args[6];
    long holdVersion = Long.parseLong(args[7]);
    CountDownLatch never = new CountDownLatch(1);
    CdcHooks hold = new CdcHooks() {
      @Override
      public void beforeApply(List<KeyInvalidation> invalidations) {
        List<String> held = invalidations.stream().filter(i -> i.version() == holdVersion).map(KeyInvalidation::key)
            .toList();
        if (held.isEmpty()) {
          return;
        }
        System.out.println("HOLDING " + held);
        System.out.flush();
        try {
          never.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    CdcOptions options = CdcOptions.builder()
        .name(name)
        .redis(VeracacheOptions.builder(io.lettuce.core.RedisURI.create(redisUri)).clientName(name).build())
        .mappings(InvalidationMappings.builder().table(table).namespace(namespace).key("{id}").version("version").add()
            .build())
        .meterRegistry(new SimpleMeterRegistry())
        .kafka(KafkaSource.builder().bootstrapServers(bootstrap).groupId(group).topicPattern(pattern)
            .topicRefresh(Duration.ofMillis(500))
            .consumerProperty("client.id", name)
            .consumerProperty("session.timeout.ms", "2000")
            .consumerProperty("heartbeat.interval.ms", "500")
            .build())
        .build();
    CdcInvalidator cdc = CdcInvalidator.start(options, hold);
    System.out.println(cdc.awaitLive(Duration.ofSeconds(60)) ? "LIVE" : "NOT LIVE " + cdc.status());
    System.out.flush();
    never.await();
  }
}
