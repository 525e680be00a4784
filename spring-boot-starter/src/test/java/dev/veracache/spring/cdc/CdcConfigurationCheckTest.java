package dev.veracache.spring.cdc;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.bootstrap.DefaultBootstrapContext;
import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The early check refuses what the auto-configuration would refuse, before any bean starts; only with CDC enabled. */
class CdcConfigurationCheckTest {

  private static void check(Map<String, Object> properties) {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
    new CdcConfigurationCheck().onApplicationEvent(new ApplicationEnvironmentPreparedEvent(
        new DefaultBootstrapContext(), new SpringApplication(), new String[0], environment));
  }

  @Test
  void aBadInlineMappingIsRefusedBeforeAnythingStartsNamingItsProperty() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.tables[0].table", "orders",
        "veracache.cdc.tables[0].namespace", "order", "veracache.cdc.tables[0].keys[0]", "{id}")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("veracache.cdc.tables[0].table (orders), written 'orders'");
  }

  @Test
  void aRedisUriAndClusterNodesTogetherAreRefusedNamingBoth() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.redis.uri",
        "redis://r:6379", "veracache.cdc.redis.cluster-nodes", "redis://c1:7000,redis://c2:7000")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("veracache.cdc.redis.uri and veracache.cdc.redis.cluster-nodes are both set");
  }

  @Test
  void theListenerTakesTheCachesClusterWhenItNamesNoRedisOfItsOwn() {
    org.springframework.mock.env.MockEnvironment env = new org.springframework.mock.env.MockEnvironment()
        .withProperty("veracache.redis.cluster-nodes", "redis://:pw@c1:7000, redis://c2:7000");
    CdcProperties properties = org.springframework.boot.context.properties.bind.Binder.get(env)
        .bindOrCreate(CdcProperties.PREFIX, CdcProperties.class);
    PropertiesCdcConnectionDetails details = new PropertiesCdcConnectionDetails(properties, env);
    org.assertj.core.api.Assertions.assertThat(details.redisClusterNodes())
        .containsExactly("redis://:pw@c1:7000", "redis://c2:7000");
    org.assertj.core.api.Assertions.assertThat(details.describeRedis()).contains("cluster").contains("c1:7000")
        .doesNotContain("pw");
    env.setProperty("veracache.cdc.redis.uri", "redis://own:6379");
    org.assertj.core.api.Assertions.assertThat(new PropertiesCdcConnectionDetails(
        org.springframework.boot.context.properties.bind.Binder.get(env).bindOrCreate(CdcProperties.PREFIX,
            CdcProperties.class), env)
        .redisClusterNodes()).as("its own Redis wins").isEmpty();
  }

  @Test
  void theSidecarsEnvironmentVariableOfClusterNodesBindsAsTheReadmeSays() {
    org.springframework.core.env.StandardEnvironment env = new org.springframework.core.env.StandardEnvironment();
    env.getPropertySources().addFirst(new org.springframework.core.env.SystemEnvironmentPropertySource("test-systemEnvironment",
        Map.of("VERACACHE_CDC_REDIS_CLUSTERNODES", "redis://r1:7000,redis://r2:7000")));
    CdcProperties properties = org.springframework.boot.context.properties.bind.Binder.get(env)
        .bindOrCreate(CdcProperties.PREFIX, CdcProperties.class);
    org.assertj.core.api.Assertions.assertThat(properties.redis().clusterNodes())
        .containsExactly("redis://r1:7000", "redis://r2:7000");
  }

  @Test
  void aMissingMappingFileIsRefusedBeforeAnythingStarts() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.mappings", "/no/such.yml")))
        .isInstanceOf(CdcConfigurationException.class).hasMessageContaining("veracache.cdc.mappings names "
            + "'/no/such.yml', which does not exist");
  }

  @Test
  void aBadDurationIsRefusedBeforeAnythingStartsNamingTheProperty() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.stall-threshold", "soon")))
        .isInstanceOf(BindException.class).hasMessageContaining("veracache.cdc");
  }

  @Test
  void withoutCdcEnabledOrWithoutMappingsNothingIsChecked() {
    assertThatCode(() -> check(Map.of("veracache.cdc.mappings", "/no/such.yml"))).doesNotThrowAnyException();
    assertThatCode(() -> check(Map.of("veracache.cdc.enabled", "true"))).as("left to the auto-configuration: an "
        + "InvalidationMappings bean may bring them").doesNotThrowAnyException();
  }

  @Test
  void kafkaModeWithoutBootstrapServersOrTopicPatternIsRefusedNamingTheProperty() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.kafka.enabled", "true",
        "veracache.cdc.kafka.topic-pattern", "shop(\\..*)?")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("veracache.cdc.kafka.bootstrap-servers is required");
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.kafka.enabled", "true",
        "veracache.cdc.kafka.bootstrap-servers", "kafka:9092")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("veracache.cdc.kafka.topic-pattern is required");
  }

  @Test
  void kafkaModeRefusesAConsumerSettingTheListenerOwnsAndABadTopicPattern() {
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.kafka.enabled", "true",
        "veracache.cdc.kafka.bootstrap-servers", "kafka:9092", "veracache.cdc.kafka.topic-pattern", "shop.*",
        "veracache.cdc.kafka.consumer.[enable.auto.commit]", "true")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("'enable.auto.commit' is set by the listener");
    assertThatThrownBy(() -> check(Map.of("veracache.cdc.enabled", "true", "veracache.cdc.kafka.enabled", "true",
        "veracache.cdc.kafka.bootstrap-servers", "kafka:9092", "veracache.cdc.kafka.topic-pattern", "shop(")))
        .isInstanceOf(CdcConfigurationException.class)
        .hasMessageContaining("topicPattern 'shop(' is not a regular expression");
  }
}
