package dev.veracache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.Veracache;
import dev.veracache.spring.actuate.VeracacheEndpoint;
import dev.veracache.spring.actuate.VeracacheRedisHealthIndicator;
import dev.veracache.spring.autoconfigure.VeracacheAutoConfiguration;
import dev.veracache.spring.autoconfigure.VeracacheEndpointAutoConfiguration;
import dev.veracache.spring.autoconfigure.VeracacheHealthAutoConfiguration;
import dev.veracache.spring.cache.VeracacheCacheManager;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisURI;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The auto-configuration's conditions with a Redis to connect to (the embedded one). */
@ExtendWith(EmbeddedStackExtension.class)
class VeracacheAutoConfigurationIT {

  private ApplicationContextRunner runner;
  private RedisServer redis;

  @BeforeEach
  void setUp(RedisServer redis) {
    this.redis = redis;
    this.runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class,
            VeracacheHealthAutoConfiguration.class, VeracacheEndpointAutoConfiguration.class,
            CacheAutoConfiguration.class))
        .withPropertyValues("veracache.redis.uri=" + redis.uri(), "management.endpoints.jmx.exposure.include=*",
            "management.endpoints.web.exposure.include=*", "spring.jmx.enabled=true");
  }

  @Test
  void aConfiguredRedisGivesTheClientTheCacheManagerTheHealthAndTheEndpoint() {
    runner.withPropertyValues("veracache.caches.products.version-property=version").run(context -> {
      assertThat(context).hasNotFailed().hasSingleBean(Veracache.class).hasSingleBean(VeracacheCacheManager.class)
          .hasSingleBean(VeracacheRedisHealthIndicator.class).hasSingleBean(VeracacheEndpoint.class);
      VeracacheCacheManager manager = context.getBean(VeracacheCacheManager.class);
      assertThat(manager.getCacheNames()).as("named caches are created at start").containsExactly("products");
      manager.getCache("products").put(1L, "ignored"); // versioned cache, a value without the property: not cached
      assertThat(context.getBean(VeracacheRedisHealthIndicator.class).health().getStatus()).isEqualTo(Status.UP);
      Map<String, Object> report = context.getBean(VeracacheEndpoint.class).report();
      assertThat(report).containsKeys("client", "pendingInvalidations", "caches");
      assertThat(((Map<?, ?>) report.get("caches")).containsKey("products")).isTrue();
    });
  }

  @Test
  void anApplicationsOwnCacheManagerWins() {
    runner.withUserConfiguration(OwnCacheManager.class).run(context -> {
      assertThat(context).hasNotFailed().hasSingleBean(CacheManager.class).hasSingleBean(Veracache.class);
      assertThat(context.getBean(CacheManager.class)).isInstanceOf(ConcurrentMapCacheManager.class);
    });
  }

  @Test
  void withoutActuatorTheCachesWorkWithoutHealthOrEndpoint() {
    runner.withClassLoader(new FilteredClassLoader(HealthIndicator.class,
        org.springframework.boot.actuate.endpoint.annotation.Endpoint.class)).run(context -> {
          assertThat(context).hasNotFailed().hasSingleBean(VeracacheCacheManager.class)
              .doesNotHaveBean(VeracacheRedisHealthIndicator.class).doesNotHaveBean(VeracacheEndpoint.class);
        });
  }

  @Test
  void theApplicationsSpringDataRedisSettingsAreUsedWhenNoVeracacheUriIsSet() {
    RedisURI uri = RedisURI.create(redis.uri());
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.host=" + uri.getHost(), "spring.data.redis.port=" + uri.getPort())
        .run(context -> {
          assertThat(context).hasNotFailed().hasSingleBean(Veracache.class);
          assertThat(context.getBean(Veracache.class).options().redisUri().getPort()).isEqualTo(uri.getPort());
        });
  }

  @Test
  void clusterNodesMakeAClusterClientWhoseCachesWork(dev.veracache.stack.EmbeddedStack stack) {
    dev.veracache.stack.RedisCluster cluster = stack.redisCluster();
    cluster.awaitHealthy(java.time.Duration.ofSeconds(30));
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class, CacheAutoConfiguration.class))
        .withPropertyValues("veracache.redis.cluster-nodes=" + String.join(",", cluster.seedUris()))
        .run(context -> {
          assertThat(context).hasNotFailed().hasSingleBean(Veracache.class);
          assertThat(context.getBean(Veracache.class).options().isCluster()).isTrue();
          org.springframework.cache.Cache cache = context.getBean(CacheManager.class).getCache("greetings");
          for (int i = 0; i < 20; i++) { // keys on every master
            String value = "hello " + i;
            assertThat(cache.get("k" + i, () -> value)).isEqualTo(value); // a miss, loaded and filled
            assertThat(cache.get("k" + i, String.class)).as("then a hit").isEqualTo(value);
          }
        });
    RedisURI seed = RedisURI.create(cluster.seedUris().get(0));
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.cluster.nodes=" + seed.getHost() + ":" + seed.getPort())
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(Veracache.class).options().clusterSeeds()).extracting(RedisURI::getPort)
              .containsExactly(seed.getPort());
        });
  }

  @Test
  void aUriAndClusterNodesTogetherFailTheStartNamingBoth() {
    runner.withPropertyValues("veracache.redis.cluster-nodes=redis://127.0.0.1:7000").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("veracache.redis.uri and "
            + "veracache.redis.cluster-nodes are both set"));
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(VeracacheAutoConfiguration.class))
        .withPropertyValues("spring.data.redis.cluster.nodes=127.0.0.1")
        .run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("spring.data.redis.cluster.nodes[0]=127.0.0.1 is not host:port"));
  }

  @Test
  void aNegativeSizeFailsTheStartNamingTheProperty() {
    runner.withPropertyValues("veracache.caches.products.l1-maximum-size=-1").run(context ->
        assertThat(context.getStartupFailure())
            .hasStackTraceContaining("veracache.caches.products.l1-maximum-size=-1"));
  }

  @Test
  void withDynamicCachesOffAnUnnamedCacheIsNotCreated() {
    runner.withPropertyValues("veracache.dynamic-caches=false", "veracache.caches.products.ttl=1m").run(context -> {
      CacheManager manager = context.getBean(CacheManager.class);
      assertThat(manager.getCache("products")).isNotNull();
      assertThat(manager.getCache("orders")).isNull();
    });
  }

  @Test
  void aCdcMappingOfAnUnknownCacheFailsTheStartNamingTheProperty() {
    runner.withConfiguration(AutoConfigurations.of(dev.veracache.spring.autoconfigure.VeracacheCdcAutoConfiguration.class))
        .withPropertyValues("veracache.dynamic-caches=false", "veracache.caches.products.ttl=1m",
            "veracache.cdc.enabled=true", "veracache.cdc.auto-startup=false",
            "veracache.cdc.tables[0].table=shop.product", "veracache.cdc.tables[0].namespace=products",
            "veracache.cdc.tables[0].keys[0]={id}",
            "veracache.cdc.tables[1].table=shop.orders", "veracache.cdc.tables[1].namespace=order",
            "veracache.cdc.tables[1].keys[0]={id}")
        .run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("veracache.cdc.tables[1].namespace=order is not the namespace of any cache"));
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnCacheManager {
    @Bean
    CacheManager cacheManager() {
      return new ConcurrentMapCacheManager("products");
    }
  }
}
