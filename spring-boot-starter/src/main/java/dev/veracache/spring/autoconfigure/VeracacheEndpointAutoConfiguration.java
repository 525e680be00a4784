package dev.veracache.spring.autoconfigure;

import dev.veracache.Veracache;
import dev.veracache.spring.actuate.VeracacheEndpoint;
import dev.veracache.spring.cache.VeracacheCacheManager;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/** The actuator endpoint {@code veracache}, when actuator is present and the endpoint is available (exposed). */
@AutoConfiguration(after = {VeracacheAutoConfiguration.class, VeracacheCdcAutoConfiguration.class})
@ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
@ConditionalOnBean({Veracache.class, VeracacheCacheManager.class})
public class VeracacheEndpointAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnAvailableEndpoint(VeracacheEndpoint.class)
  public VeracacheEndpoint veracacheEndpoint(Veracache veracache, VeracacheCacheManager cacheManager,
      ObjectProvider<CdcInvalidatorLifecycle> cdc) {
    VeracacheEndpoint endpoint = new VeracacheEndpoint(veracache, cacheManager);
    cdc.ifAvailable(listener -> endpoint.section("cdc", listener::report));
    return endpoint;
  }
}
