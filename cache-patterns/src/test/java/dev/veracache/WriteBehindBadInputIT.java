package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Every bad input of write-behind gets a clear error naming the bad thing, and acknowledges nothing. */
class WriteBehindBadInputIT extends WriteBehindTest {

  private static final ValueCodec<Product> FAILING_CODEC = new ValueCodec<>() {
    @Override
    public byte[] encode(Product value) {
      throw new IllegalStateException("cannot encode " + value.name());
    }

    @Override
    public Product decode(byte[] bytes) {
      throw new IllegalStateException("never called");
    }
  };

  @Test
  void aNullKeyOrValueIsRefusedNamingIt() {
    WriteBehindCache<Long, Product> cache = writeBehind(newInstance());
    assertThatThrownBy(() -> cache.put(null, product(1, "x"))).hasMessage("key must not be null");
    assertThatThrownBy(() -> cache.put(1L, null)).hasMessage("value must not be null");
    assertThatThrownBy(() -> cache.delete(null)).hasMessage("key must not be null");
  }

  @Test
  void aValueTheCodecCannotEncodeIsRefusedBeforeAnythingIsLogged() throws Exception {
    Veracache client = newInstance();
    WriteBehindCache<Long, Product> cache = client.writeBehind(WriteBehindOptions.builder(
        CacheOptions.<Long, Product>builder(namespace, FAILING_CODEC).version(Product::version).build(),
        kafka.bootstrapServers(), topic).build(), rows::find);
    assertThatThrownBy(() -> cache.put(1L, product(1, "bad"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cache '" + namespace + "'").hasMessageContaining("key '1'")
        .hasMessageContaining("cannot encode bad");
    assertThat(readTopic(topic, 1, Duration.ofSeconds(3))).as("nothing logged").isEmpty();
  }

  @Test
  void anUnknownTopicIsNamedAtStart() {
    Veracache client = newInstance();
    assertThatThrownBy(() -> client.writeBehind(WriteBehindOptions.builder(productOptions().build(),
        kafka.bootstrapServers(), "no-such-topic").build(), rows::find)).isInstanceOf(WriteBehindException.class)
        .hasMessageContaining("no-such-topic").hasMessageContaining("does not exist");
  }

  @Test
  void anUnreachableBrokerAtStartIsNamed() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    String nowhere = "127.0.0.1:" + closedPort;
    Veracache client = newInstance();
    assertThatThrownBy(() -> client.writeBehind(WriteBehindOptions.builder(productOptions().build(), nowhere, topic)
        .startupTimeout(Duration.ofSeconds(1)).build(), rows::find)).isInstanceOf(WriteBehindException.class)
        .hasMessageContaining("Kafka at " + nowhere + " did not answer within PT1S");
  }

  @Test
  void settingsVeracacheOwnsAndAMissingKeyDecoderAreRefusedNamingThem() {
    assertThatThrownBy(() -> writeBehindOptions().kafkaProperty("acks", "1"))
        .hasMessageContaining("Kafka property 'acks' is set by Veracache");
    assertThatThrownBy(() -> WriteBehindOptions.builder(productOptions().build(), "x:1", "bad topic!"))
        .hasMessageContaining("topic 'bad topic!'");
    assertThatThrownBy(() -> WriteBehindOptions.builder(CacheOptions.<Long, Product>builder(namespace,
        ValueCodec.json(Product.class)).build(), "x:1", topic)).hasMessageContaining("needs versioned values");
    Veracache client = newInstance();
    assertThatThrownBy(() -> client.writeBehindFlusher(WriteBehindOptions.builder(productOptions().build(),
        kafka.bootstrapServers(), topic).build(), FlusherOptions.builder("g").build(), rows.dataSource(), rows.writer))
        .hasMessageContaining("keyDecoder");
    assertThatThrownBy(() -> client.writeBehindFlusher(writeBehindOptions().build(), FlusherOptions.builder("g")
        .deadLetterTopic("no-such-dlt").build(), rows.dataSource(), rows.writer))
        .hasMessageContaining("no-such-dlt");
  }
}
