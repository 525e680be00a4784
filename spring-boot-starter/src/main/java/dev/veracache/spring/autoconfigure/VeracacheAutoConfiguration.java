package dev.veracache.spring.autoconfigure;

import dev.veracache.BreakerSettings;
import dev.veracache.InspectorOptions;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.spring.cache.CacheOptionsFactory;
import dev.veracache.spring.cache.VeracacheCacheManager;
import dev.veracache.spring.cdc.CdcMappings;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurationPackages;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.CacheManager;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;

/**
 * The Veracache client and a {@link CacheManager} for Spring's cache annotations, when a Redis is configured
 * ({@code veracache.redis.uri}, or {@code spring.data.redis.*}) and {@code veracache.enabled} is not false. An
 * application's own {@code Veracache} or {@code CacheManager} bean wins. Meters go to the application's
 * {@link MeterRegistry} when it has one.
 */
@AutoConfiguration(before = CacheAutoConfiguration.class,
    afterName = "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnProperty(prefix = "veracache", name = "enabled", havingValue = "true", matchIfMissing = true)
@Conditional(OnRedisConfiguredCondition.class)
@EnableConfigurationProperties(VeracacheProperties.class)
public class VeracacheAutoConfiguration {

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public Veracache veracache(VeracacheProperties properties, Environment environment,
      ObjectProvider<MeterRegistry> meterRegistry) {
    VeracacheProperties.Breaker breaker = properties.getBreaker();
    VeracacheOptions.Builder options;
    try {
      List<io.lettuce.core.RedisURI> clusterSeeds = RedisUriResolver.clusterSeeds(properties, environment);
      options = (clusterSeeds.isEmpty() ? VeracacheOptions.builder(RedisUriResolver.resolve(properties, environment))
          : VeracacheOptions.clusterBuilder(clusterSeeds.get(0),
              clusterSeeds.subList(1, clusterSeeds.size()).toArray(io.lettuce.core.RedisURI[]::new)))
          .clientName(properties.getRedis().getClientName())
          .commandTimeout(properties.getRedis().getCommandTimeout())
          .maxL1Ttl(properties.getL1().getMaxTtl())
          .degradedL1Ttl(properties.getL1().getDegradedTtl())
          .heartbeatInterval(properties.getHeartbeatInterval())
          .recoveryGrace(properties.getRecoveryGrace())
          .circuitBreaker(BreakerSettings.builder().failureRatePercent(breaker.getFailureRatePercent())
              .minimumCalls(breaker.getMinimumCalls()).windowSize(breaker.getWindowSize())
              .openDuration(breaker.getOpenDuration()).build())
          .inspector(InspectorOptions.builder().sampleRate(properties.getInspector().getSampleRate())
              .window(properties.getInspector().getWindow()).build());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("veracache: " + e.getMessage(), e);
    }
    try {
      options.addressMapping(properties.getRedis().getAddressMapping());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("veracache.redis.address-mapping: " + e.getMessage(), e);
    }
    try {
      options.invalidationReplicas(properties.getRedis().getInvalidationReplicas());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("veracache.redis.invalidation-replicas: " + e.getMessage(), e);
    }
    MeterRegistry registry = meterRegistry.getIfAvailable();
    if (registry != null) {
      options.meterRegistry(registry);
    }
    return Veracache.create(options.build());
  }

  /** Marks each cached method call, so that a put fills only under a read of its own call (see OpenReads). */
  @Bean
  public static dev.veracache.spring.cache.OpenReadScope.Installer veracacheOpenReadScope() {
    return dev.veracache.spring.cache.OpenReadScope.installer();
  }

  @Bean
  @ConditionalOnMissingBean(CacheManager.class)
  public VeracacheCacheManager cacheManager(Veracache veracache, VeracacheProperties properties,
      BeanFactory beanFactory, ObjectProvider<CdcMappings> cdcMappings,
      ObjectProvider<dev.veracache.spring.cdc.CdcProperties> cdcProperties) {
    List<String> trusted = new ArrayList<>(properties.getTrustedPackages());
    if (AutoConfigurationPackages.has(beanFactory)) {
      trusted.addAll(AutoConfigurationPackages.get(beanFactory));
    }
    VeracacheCacheManager manager = new VeracacheCacheManager(veracache, properties, new CacheOptionsFactory(
        properties.getCacheDefaults(), CacheOptionsFactory.typedJson(trusted, classLoader(beanFactory))));
    if (!properties.isDynamicCaches()) {
      cdcMappings.ifAvailable(mappings -> checkMappedNamespacesAreCaches(mappings, cdcProperties.getIfAvailable(),
          manager));
    }
    return manager;
  }

  /**
   * With {@code veracache.dynamic-caches=false} the caches are exactly those named: a CDC mapping of this application
   * whose namespace is no cache's would invalidate nothing it serves (a typo, or a cache renamed). Fails naming the
   * mapping's property (or file) and the namespaces there are.
   */
  private static void checkMappedNamespacesAreCaches(CdcMappings mappings,
      dev.veracache.spring.cdc.CdcProperties cdc, VeracacheCacheManager manager) {
    java.util.Set<String> namespaces = new java.util.TreeSet<>();
    for (String name : manager.getCacheNames()) {
      namespaces.add(((dev.veracache.TieredCache<?, ?>) manager.getCache(name).getNativeCache()).namespace());
    }
    List<dev.veracache.cdc.TableMapping> tables = mappings.mappings().tables();
    for (dev.veracache.cdc.TableMapping table : tables) {
      if (!namespaces.contains(table.namespace())) {
        String where = mappings.source() + " (table " + table.table() + ", namespace)";
        if (CdcMappings.TABLES_PROPERTY.equals(mappings.source()) && cdc != null) {
          for (int i = 0; i < cdc.tables().size(); i++) {
            if (table.namespace().equals(cdc.tables().get(i).namespace())) {
              where = CdcMappings.TABLES_PROPERTY + "[" + i + "].namespace";
              break;
            }
          }
        }
        throw new IllegalArgumentException(where + "=" + table.namespace() + " is not the namespace of any cache "
            + "under veracache.caches " + namespaces + " (veracache.dynamic-caches=false: the caches are exactly "
            + "those named)");
      }
    }
  }

  private static ClassLoader classLoader(BeanFactory beanFactory) {
    ClassLoader loader = beanFactory instanceof ConfigurableBeanFactory configurable
        ? configurable.getBeanClassLoader() : null;
    return loader != null ? loader : VeracacheAutoConfiguration.class.getClassLoader();
  }
}
