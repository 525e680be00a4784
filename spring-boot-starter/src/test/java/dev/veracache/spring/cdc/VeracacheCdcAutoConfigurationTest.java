package dev.veracache.spring.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.spring.autoconfigure.VeracacheCdcAutoConfiguration;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;

/**
 * Every condition of {@link VeracacheCdcAutoConfiguration}, without servers: the listener is not started here
 * ({@code veracache.cdc.auto-startup=false}); {@code CdcAutoConfigurationIT} runs it on the embedded stack.
 */
class VeracacheCdcAutoConfigurationTest {

  private static final String[] ONE_TABLE = {"veracache.cdc.tables[0].table=shop.orders",
      "veracache.cdc.tables[0].namespace=order", "veracache.cdc.tables[0].keys[0]={id}",
      "veracache.cdc.tables[0].keys[1]=customer:{customer}", "veracache.cdc.tables[0].version=version"};

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(VeracacheCdcAutoConfiguration.class));

  private ApplicationContextRunner enabled(String... more) {
    return runner.withPropertyValues("veracache.cdc.enabled=true", "veracache.cdc.auto-startup=false")
        .withPropertyValues(ONE_TABLE).withPropertyValues(more);
  }

  @Test
  void withoutCdcEnabledNothingOfTheListenerIsCreated() {
    runner.withPropertyValues(ONE_TABLE).run(context -> assertThat(context).hasNotFailed()
        .doesNotHaveBean(CdcProperties.class).doesNotHaveBean(CdcInvalidatorLifecycle.class)
        .doesNotHaveBean(CdcHealthIndicator.class).doesNotHaveBean(CdcMappings.class));
  }

  @Test
  void withCdcEnabledTheListenerItsInlineMappingsAndItsHealthAreBeans() {
    enabled().run(context -> {
      assertThat(context).hasNotFailed().hasSingleBean(CdcInvalidatorLifecycle.class)
          .hasBean("veracacheCdcHealthIndicator");
      CdcMappings mappings = context.getBean(CdcMappings.class);
      assertThat(mappings.source()).isEqualTo("veracache.cdc.tables");
      assertThat(mappings.mappings().forTable("shop", "orders").namespace()).isEqualTo("order");
      assertThat(context.getBean(CdcInvalidatorLifecycle.class).isRunning()).as("auto-startup=false").isFalse();
      Health health = context.getBean(CdcHealthIndicator.class).health();
      assertThat(health.getStatus()).isEqualTo(Status.DOWN);
      assertThat(health.getDetails()).containsEntry("state", "not started");
    });
  }

  @Test
  void theListenersRedisDefaultsToTheCachesRedisThenToLocalhost() {
    enabled("veracache.redis.uri=redis://cache.internal:6379").run(context -> assertThat(
        context.getBean(CdcConnectionDetails.class).redisUri()).isEqualTo("redis://cache.internal:6379"));
    enabled("veracache.redis.uri=redis://cache.internal:6379", "veracache.cdc.redis.uri=redis://cdc.internal:6380")
        .run(context -> assertThat(context.getBean(CdcConnectionDetails.class).redisUri())
            .isEqualTo("redis://cdc.internal:6380"));
    enabled().run(context -> assertThat(context.getBean(CdcConnectionDetails.class).redisUri())
        .isEqualTo("redis://127.0.0.1:6379"));
  }

  @Test
  void theSidecarsSettingsBindUnderTheSameNamesAndDefaults() {
    enabled("veracache.cdc.database.host=db.internal", "veracache.cdc.stall-threshold=3s",
        "veracache.cdc.redis-durability.replicas=2").run(context -> {
          CdcProperties p = context.getBean(CdcProperties.class);
          assertThat(p.database().host()).isEqualTo("db.internal");
          assertThat(p.database().port()).isEqualTo(3306);
          assertThat(p.stallThreshold()).hasSeconds(3);
          assertThat(p.redisDurability().replicas()).isEqualTo(2);
          assertThat(p.stateDirectory()).isEqualTo(Path.of("cdc-state"));
          assertThat(p.serverId()).isEqualTo(5400);
          assertThat(p.name()).isEqualTo("veracache-cdc");
          assertThat(p.progressInterval()).hasMillis(500);
        });
  }

  @Test
  void withoutActuatorHealthTheListenerRunsWithoutAHealthIndicator() {
    enabled().withClassLoader(new FilteredClassLoader(HealthIndicator.class)).run(context -> assertThat(context)
        .hasNotFailed().hasSingleBean(CdcInvalidatorLifecycle.class).doesNotHaveBean(CdcHealthIndicator.class));
  }

  @Test
  void aDisabledHealthIndicatorIsNotCreated() {
    enabled("management.health.veracache-cdc.enabled=false").run(context -> assertThat(context)
        .hasNotFailed().doesNotHaveBean(CdcHealthIndicator.class));
  }

  @Test
  void anApplicationsOwnCdcInvalidatorWinsAndTheHealthIndicatorReportsIt() {
    runner.withPropertyValues("veracache.cdc.enabled=true").withUserConfiguration(OwnListener.class)
        .run(context -> {
          assertThat(context).hasNotFailed().doesNotHaveBean(CdcInvalidatorLifecycle.class)
              .doesNotHaveBean(CdcMappings.class).doesNotHaveBean(CdcConnectionDetails.class);
          assertThat(context.getBean(CdcHealthIndicator.class).health().getDetails())
              .containsEntry("state", "not started");
        });
  }

  @Test
  void anApplicationsOwnInvalidationMappingsAreUsed() {
    runner.withPropertyValues("veracache.cdc.enabled=true", "veracache.cdc.auto-startup=false")
        .withUserConfiguration(OwnMappings.class).run(context -> {
          CdcMappings mappings = context.getBean(CdcMappings.class);
          assertThat(mappings.source()).isEqualTo("the InvalidationMappings bean");
          assertThat(mappings.mappings().forTable("shop", "invoice")).isNotNull();
        });
  }

  @Test
  void aBadDurationFailsNamingTheProperty() {
    enabled("veracache.cdc.stall-threshold=soon").run(context -> assertThat(context).hasFailed()
        .getFailure().satisfies(f -> assertThat(messages(f)).contains("veracache.cdc.stall-threshold")
            .contains("soon")));
  }

  @Test
  void inlineMappingsWithABadTableAndNamespaceFailNamingEachPropertyAndValue() {
    enabled("veracache.cdc.tables[1].table=orders", "veracache.cdc.tables[1].namespace=a:b",
        "veracache.cdc.tables[1].keys[0]={id}", "veracache.cdc.tables[1].tombstone-ttl=-5s").run(context -> {
          assertThat(context).hasFailed();
          FailureAnalysis analysis = new CdcFailureAnalyzer().analyze(context.getStartupFailure());
          assertThat(analysis).as("analysed: %s", context.getStartupFailure()).isNotNull();
          assertThat(analysis.getDescription())
              .contains("The table mappings of veracache.cdc.tables have 3 problems:")
              .contains("veracache.cdc.tables[1].table (orders), written 'orders': table 'orders' must be written "
                  + "database.table")
              .contains("veracache.cdc.tables[1].namespace (orders), written 'a:b'")
              .contains("veracache.cdc.tables[1].tombstone-ttl (orders), written '-5s'");
        });
  }

  @Test
  void aMissingMappingsFileFailsNamingThePropertyAndThePath() {
    runner.withPropertyValues("veracache.cdc.enabled=true", "veracache.cdc.mappings=/no/such/mappings.yml")
        .run(context -> {
          FailureAnalysis analysis = new CdcFailureAnalyzer().analyze(context.getStartupFailure());
          assertThat(analysis).isNotNull();
          assertThat(analysis.getDescription()).contains("veracache.cdc.mappings names '/no/such/mappings.yml', "
              + "which does not exist");
        });
  }

  @Test
  void noMappingsAtAllFailsNamingBothWaysToGiveThem() {
    runner.withPropertyValues("veracache.cdc.enabled=true").run(context -> {
      FailureAnalysis analysis = new CdcFailureAnalyzer().analyze(context.getStartupFailure());
      assertThat(analysis).isNotNull();
      assertThat(analysis.getDescription()).contains("No table mappings").contains("veracache.cdc.mappings")
          .contains("veracache.cdc.tables");
    });
  }

  @Test
  void aMappingsFileAndInlineTablesTogetherAreRefused() {
    enabled("veracache.cdc.mappings=/etc/mappings.yml").run(context -> assertThat(
        new CdcFailureAnalyzer().analyze(context.getStartupFailure()).getDescription())
        .contains("Both veracache.cdc.mappings ('/etc/mappings.yml') and veracache.cdc.tables (1 tables) are set"));
  }

  private static String messages(Throwable failure) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      all.append(t.getMessage()).append('\n');
    }
    return all.toString();
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnListener {
    /** Never created here (lazy, no servers): the conditions look at its definition. */
    @Bean
    @Lazy
    CdcInvalidator ownCdcInvalidator() {
      return null;
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnMappings {
    @Bean
    InvalidationMappings ownMappings() {
      return InvalidationMappings.builder().table("shop.invoice").namespace("invoice").key("{id}").add().build();
    }
  }
}
