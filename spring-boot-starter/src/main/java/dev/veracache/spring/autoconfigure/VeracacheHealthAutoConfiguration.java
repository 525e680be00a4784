package dev.veracache.spring.autoconfigure;

import dev.veracache.Veracache;
import dev.veracache.spring.actuate.VeracacheRedisHealthIndicator;
import dev.veracache.spring.cache.VeracacheCacheManager;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/** Health {@code veracacheRedis} (UP, DEGRADED with reasons, DOWN) when Spring Boot's health module is present. */
@AutoConfiguration(after = VeracacheAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(Veracache.class)
public class VeracacheHealthAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean(name = "veracacheRedisHealthIndicator")
  public VeracacheRedisHealthIndicator veracacheRedisHealthIndicator(Veracache veracache,
      ObjectProvider<VeracacheCacheManager> cacheManager) {
    VeracacheCacheManager manager = cacheManager.getIfAvailable();
    return new VeracacheRedisHealthIndicator(veracache, manager == null ? List.of() : new NamespacesOf(manager));
  }

  /** The namespaces of the manager's caches, as they are now (caches may be created at run time). */
  private static final class NamespacesOf extends java.util.AbstractCollection<String> {
    private final VeracacheCacheManager manager;

    NamespacesOf(VeracacheCacheManager manager) {
      this.manager = manager;
    }

    private List<String> now() {
      return manager.getCacheNames().stream().map(manager::getCache).filter(java.util.Objects::nonNull)
          .map(c -> ((dev.veracache.TieredCache<?, ?>) c.getNativeCache()).namespace()).distinct().toList();
    }

    @Override
    public java.util.Iterator<String> iterator() {
      return now().iterator();
    }

    @Override
    public int size() {
      return now().size();
    }
  }
}
