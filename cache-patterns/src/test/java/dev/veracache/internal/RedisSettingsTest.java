package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.BreakerSettings;
import dev.veracache.VeracacheOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The internal Redis layer reads a client's options through {@link RedisSettings}, and never prints the password. */
class RedisSettingsTest {

  @Test
  void theLayerReadsTheOptionsAndHidesTheCredentials() {
    VeracacheOptions options = VeracacheOptions.builder("redis://:s3cret@localhost:6390").clientName("orders")
        .commandTimeout(Duration.ofMillis(700)).circuitBreaker(BreakerSettings.builder().failureRatePercent(40).minimumCalls(3).windowSize(10)
            .openDuration(Duration.ofSeconds(2)).build()).build();

    RedisSettings settings = RedisSettings.of(options);

    assertThat(settings.redisUri().getPort()).isEqualTo(6390);
    assertThat(settings.clientName()).isEqualTo("orders");
    assertThat(settings.commandTimeout()).isEqualTo(Duration.ofMillis(700));
    assertThat(settings.breakerFailureRatePercent()).isEqualTo(40);
    assertThat(settings.breakerMinimumCalls()).isEqualTo(3);
    assertThat(settings.breakerWindowSize()).isEqualTo(10);
    assertThat(settings.breakerOpenDuration()).isEqualTo(Duration.ofSeconds(2));
    assertThat(settings.toString()).contains("localhost:6390").doesNotContain("s3cret");
  }
}
