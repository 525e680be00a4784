package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.chaos.report.Run;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The CDC races whose clients do not bound their staleness by the listener's progress (R1 stale fill, R2 delete
 * refused) with the change stream through Kafka: Debezium in a Kafka Connect worker, the listener a consumer group
 * member. The same workload, fault and checker as {@code ChaosScenariosIT}; every run must be clean and its listener
 * must have committed offsets (it really read Kafka).
 *
 * <p>R5 (an instance cut off from Redis, so its own invalidations wait and CDC is what invalidates for the others)
 * runs too, judged on what the Kafka path promises whatever its latency: no key stale after quiescence, no write lost,
 * the partition cut connections. Its stale reads are measured, not judged against W: it was clean on a quiet machine,
 * and showed 35 reads stale for 0.9-1.1 s (W is 0.7 s) in a full build with other tests beside it, the Kafka path's
 * latency under load (p99 336 ms quiet) being longer than the window.
 *
 * <p>R6 (the listener in its own JVM, in Kafka mode, crashed between polling and applying a batch) runs the same way,
 * without the listener staleness bound (Kafka mode publishes no progress); the restarted JVM must replay from the
 * group's offsets.
 */
@ExtendWith(EmbeddedStackExtension.class)
class KafkaPathChaosIT {

  private static final List<String> SCENARIOS = List.of("r1-stale-fill", "r2-delete-failure");

  @TestFactory
  Stream<DynamicTest> cdcRacesThroughKafkaStayClean(EmbeddedStack stack) {
    ScenarioCatalog catalog = ScenarioCatalog.builtIn();
    return catalog.select(SCENARIOS).stream().map(scenario -> DynamicTest.dynamicTest(scenario.id()
        + " / VERACACHE_CACHE_ASIDE through Kafka / seed 42", () -> {
          long committedBefore = committedByChaosGroups(stack);
          Run run = ScenarioRunner.runThroughKafka(stack, scenario, Scenario.Strategy.VERACACHE_CACHE_ASIDE, 42);
          System.out.println(Run.markdown(List.of(run)));
          assertThat(run.report().writes()).as("acknowledged writes").isPositive();
          assertThat(run.violations()).as(run.verdict()).isEmpty();
          assertThat(committedByChaosGroups(stack)).as("the run's listener committed Kafka offsets")
              .isGreaterThan(committedBefore);
        }));
  }

  @Test
  void anInstanceCutOffFromRedisLeavesNothingStaleThroughKafka(EmbeddedStack stack) throws Exception {
    Scenario r5 = ScenarioCatalog.builtIn().select(List.of("r5-lost-broadcast")).get(0);
    Run run = ScenarioRunner.runThroughKafka(stack, r5, Scenario.Strategy.VERACACHE_CACHE_ASIDE, 42);
    System.out.println(Run.markdown(List.of(run)));
    assertThat(run.report().writes()).as("acknowledged writes").isPositive();
    assertThat(run.report().faultMeasures().ineffective()).as("the fault took effect").isEmpty();
    assertThat(run.report().keysStaleAfterQuiescence()).as("keys stale after quiescence").isZero();
    assertThat(run.report().lostWrites()).as("lost writes").isZero();
  }

  /**
   * R6 with the listener in its own JVM in Kafka mode (a static member of the run's group), crashed between polling a
   * batch and applying it, restarted: it must replay from the group's committed offsets. Without the staleness bound
   * (Kafka mode publishes no progress), so judged as R5 is; stale reads measured (chaos README, "Through Kafka").
   */
  @Test
  void aCrashedListenerReplaysFromItsOffsetsThroughKafka(EmbeddedStack stack) throws Exception {
    Scenario r6 = ScenarioCatalog.builtIn().select(List.of("r6-listener-crash")).get(0).withoutListenerBound()
        .withSeconds(ClusterChaosIT.R6_SECONDS);
    long committedBefore = committedByChaosGroups(stack);
    Run run = ScenarioRunner.runThroughKafka(stack, r6, Scenario.Strategy.VERACACHE_CDC_ONLY, 42);
    ClusterChaosIT.judgeReplayed(run);
    assertThat(committedByChaosGroups(stack)).as("the run's listener committed Kafka offsets")
        .isGreaterThan(committedBefore);
  }

  @Test
  void aStrategyWithoutCdcOrWithoutAStoredPositionIsRefusedForTheKafkaPath(EmbeddedStack stack) {
    ScenarioCatalog catalog = ScenarioCatalog.builtIn();
    Scenario r1 = catalog.select(List.of("r1-stale-fill")).get(0);
    assertThatThrownBy(() -> ScenarioRunner.runThroughKafka(stack, r1, Scenario.Strategy.NAIVE, 42))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NAIVE runs no CDC listener");
    Scenario r6 = catalog.select(List.of("r6-listener-crash")).get(0);
    // a new group would read every topic from its first record: through Kafka no listener forgets its position
    assertThatThrownBy(() -> ScenarioRunner.runThroughKafka(stack, r6, Scenario.Strategy.FORGETFUL_CDC, 42))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not for a forgetful listener (true)");
    // Kafka mode publishes no progress: clients bounded by it are refused; r6 runs without the bound (above)
    assertThatThrownBy(() -> ScenarioRunner.runThroughKafka(stack, r6, Scenario.Strategy.VERACACHE_CDC_ONLY, 42))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("or a progress interval (PT0.05S)");
  }

  private static long committedByChaosGroups(EmbeddedStack stack) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        stack.kafka().bootstrapServers()))) {
      long sum = 0;
      for (GroupListing group : admin.listGroups().all().get(10, TimeUnit.SECONDS)) {
        if (!group.groupId().startsWith("chaos-")) {
          continue;
        }
        Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(
            group.groupId()).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        sum += offsets.values().stream().filter(o -> o != null).mapToLong(OffsetAndMetadata::offset).sum();
      }
      return sum;
    }
  }
}
