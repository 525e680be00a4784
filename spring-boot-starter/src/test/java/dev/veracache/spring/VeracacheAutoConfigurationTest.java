package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.Veracache;
import dev.veracache.spring.autoconfigure.VeracacheAutoConfiguration;
import dev.veracache.spring.autoconfigure.VeracacheEndpointAutoConfiguration;
import dev.veracache.spring.autoconfigure.VeracacheHealthAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;

/** The auto-configuration's conditions and binding errors that need no server (the unit tier). */
class VeracacheAutoConfigurationTest {

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class,
          VeracacheHealthAutoConfiguration.class, VeracacheEndpointAutoConfiguration.class,
          CacheAutoConfiguration.class));

  @Test
  void withoutARedisConfiguredThereIsNoClientAndNoCacheManager() {
    runner.run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context).doesNotHaveBean(Veracache.class);
      assertThat(context).doesNotHaveBean("veracacheRedisHealthIndicator");
      assertThat(context).doesNotHaveBean(CacheManager.class);
    });
  }

  @Test
  void veracacheEnabledFalseTurnsEverythingOffEvenWithARedis() {
    runner.withPropertyValues("veracache.enabled=false", "veracache.redis.uri=redis://127.0.0.1:1")
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(Veracache.class));
  }

  @Test
  void aBadDurationFailsTheStartNamingTheProperty() {
    runner.withPropertyValues("veracache.redis.uri=redis://127.0.0.1:1", "veracache.caches.products.ttl=soon")
        .run(context -> assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining("soon"));
    runner.withPropertyValues("veracache.redis.uri=redis://127.0.0.1:1", "veracache.caches.products.ttl=soon")
        .run(context -> assertThat(context.getStartupFailure()).hasStackTraceContaining("veracache.caches.products.ttl"));
  }

  @Test
  void aRedisUriThatIsNotOneFailsTheStartNamingTheProperty() {
    runner.withPropertyValues("veracache.redis.uri=http://nowhere")
        .run(context -> assertThat(context.getStartupFailure()).hasStackTraceContaining("veracache.redis.uri"));
  }

  @Test
  void aBadAddressMappingOrReplicaCountFailsTheStartNamingTheProperty() {
    // As a properties file gives it (TestPropertyValues would split the key at its colon).
    runner.withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(
            new org.springframework.core.env.MapPropertySource("application", java.util.Map.of("veracache.redis.uri",
                "redis://127.0.0.1:1", "veracache.redis.address-mapping.[10.0.0.5:7000]", "nowhere"))))
        .run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("veracache.redis.address-mapping: addressMapping value of 10.0.0.5:7000")
            .hasStackTraceContaining("'nowhere'"));
    runner.withPropertyValues("veracache.redis.uri=redis://127.0.0.1:1", "veracache.redis.invalidation-replicas=-1")
        .run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("veracache.redis.invalidation-replicas: invalidationReplicas must be >= 0, was -1"));
  }
}
