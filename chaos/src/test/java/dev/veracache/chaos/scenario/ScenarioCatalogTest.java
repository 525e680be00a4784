package dev.veracache.chaos.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The scenario catalogue: what the built-in one covers, and a clear error for each kind of bad file. */
class ScenarioCatalogTest {

  @Test
  void theBuiltInCatalogueCoversEveryRaceOfTheContractButR17() {
    Set<String> races = ScenarioCatalog.builtIn().scenarios().stream().map(Scenario::race)
        .collect(Collectors.toSet());
    // R17 (a change without a version bump) is decided from the binlog's before image: ChangeEventMapperIT.
    assertThat(races).containsAll(IntStream.rangeClosed(1, 18).filter(i -> i != 17).mapToObj(i -> "R" + i).toList());
  }

  @Test
  void aStalenessBoundNeedsAWindowThatCoversTwiceItPlusTheHeartbeat() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, listenerStalenessBoundMillis: 200, windowMillis: 300,
             strategies: [VERACACHE_CDC_ONLY]}
        """)).hasMessageContaining("field 'windowMillis' must be >= 2 x listenerStalenessBoundMillis")
        .hasMessageContaining("= 500, was 300");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: LISTENER_PAUSE, strategies: [CDC_ONLY_UNBOUNDED],
             expect: {CDC_ONLY_UNBOUNDED: [STALE_READS]}}
        """)).hasMessageContaining("CDC_ONLY_UNBOUNDED is the baseline of a listener staleness bound");
  }

  @Test
  void withoutTheBoundTheClientsWatchNoProgressAndWIsDerivedAgain() {
    Scenario r6 = ScenarioCatalog.builtIn().select(List.of("r6-listener-crash")).get(0);
    assertThat(r6.windowMillis()).as("2 x 200 + heartbeat + margin").isEqualTo(700);
    Scenario unbounded = r6.withoutListenerBound();
    assertThat(unbounded.cache().listenerStalenessBoundMillis()).isZero();
    assertThat(unbounded.listenerProgressInterval(Scenario.Strategy.VERACACHE_CDC_ONLY)).as("the library's default")
        .isNull();
    assertThat(unbounded.windowMillis()).as("the listener's own invalidation + margin").isEqualTo(200);
    assertThat(unbounded.withSeconds(4).faultMillis()).isEqualTo(1333);
    assertThatThrownBy(() -> r6.withSeconds(4)).as("with the bound, W = 700 needs a 1.4 s fault")
        .hasMessageContaining("more than half the fault");
  }

  @Test
  void raceInjectionsOfTheHardenedFencesNameWhatTheyNeed() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: SET_VS_DELETE, writers: 2, strategies: [VERACACHE_WRITE_THROUGH]}
        """)).hasMessageContaining("field 'deleteOnlyWriters'").hasMessageContaining("must delete");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: SET_VS_DELETE, writers: 2, deleteOnlyWriters: 1,
             strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("only write-through strategies make them, not VERACACHE_CACHE_ASIDE");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, deleteOnlyWriters: 1, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'deleteOnlyWriters' must be in [0, writers - 1]");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: EVICTION_RACE, evictionPolicy: volatile-lru, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'evictionPolicy'").hasMessageContaining("volatile-lru");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: EVICTION_RACE, racingReadersPerInstance: 5, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'racingReadersPerInstance'").hasMessageContaining("was 5");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: LISTENER_PAUSE, faultFraction: 1.0, strategies: [VERACACHE_CDC_ONLY]}
        """)).hasMessageContaining("field 'faultFraction' must be in (0, 1), was 1.0");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: REDIS_PAUSE, seconds: 6, minAvailabilityInFaultPercent: 101,
             strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'minAvailabilityInFaultPercent' must be in [0, 100], was 101");
  }

  @Test
  void everyVeracacheStrategyAndEveryBaselineRunsSomewhere() {
    Set<Scenario.Strategy> used = ScenarioCatalog.builtIn().scenarios().stream()
        .flatMap(s -> s.strategies().stream()).collect(Collectors.toSet());
    assertThat(used).containsExactlyInAnyOrder(Scenario.Strategy.values());
  }

  @Test
  void defaultsApplyAndAScenarioOverridesThem() {
    ScenarioCatalog catalog = parse("""
        defaults: {keys: 7}
        scenarios:
          - {id: a, title: A, fault: NONE, strategies: [VERACACHE_CACHE_ASIDE]}
          - {id: b, title: B, fault: NONE, keys: 3, strategies: [NAIVE], expect: {NAIVE: [STALE_READS]}}
        """);
    assertThat(catalog.scenarios()).extracting(s -> s.workload().keys()).containsExactly(7, 3);
    assertThat(catalog.scenarios().get(0).windowMillis()).isEqualTo(200);
    assertThat(catalog.select(List.of("b"))).extracting(Scenario::id).containsExactly("b");
  }

  @Test
  void anUnknownFieldIsNamed() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, strategies: [VERACACHE_CACHE_ASIDE], kyes: 3}
        """)).hasMessageContaining("scenarios[0] (a)").hasMessageContaining("kyes");
  }

  @Test
  void aBaselineWithoutItsExpectedAnomalyIsRefused() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: FILL_RACE, strategies: [NAIVE]}
        """)).hasMessageContaining("field 'expect'").hasMessageContaining("baseline NAIVE");
  }

  @Test
  void aVeracacheStrategyCannotBeExpectedToShowAnAnomaly() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, strategies: [VERACACHE_CACHE_ASIDE],
             expect: {VERACACHE_CACHE_ASIDE: [STALE_READS]}}
        """)).hasMessageContaining("VERACACHE_CACHE_ASIDE is not a baseline");
  }

  @Test
  void outOfRangeValuesAndImpossibleCombinationsNameTheField() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, keys: 0, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'keys' must be >= 1, was 0");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, alternateKeys: true, strategies: [VERACACHE_WRITE_THROUGH]}
        """)).hasMessageContaining("VERACACHE_WRITE_THROUGH runs only with rows cached by primary key");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: LISTENER_CRASH, strategies: [NAIVE], expect: {NAIVE: [STALE_KEYS]}}
        """)).hasMessageContaining("NAIVE has no CDC listener");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, strategies: [VERACACHE_CACHE_ASIDE]}
          - {id: a, title: B, fault: NONE, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("id 'a' is used twice");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: WHATEVER, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("scenarios[0] (a)").hasMessageContaining("WHATEVER");
  }

  @Test
  void theWriteBehindStrategiesAndFaultsGoTogether() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: PROCESS_KILL, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'strategies' the write-behind strategies")
        .hasMessageContaining("not VERACACHE_CACHE_ASIDE with PROCESS_KILL");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: NONE, strategies: [VERACACHE_WRITE_BEHIND]}
        """)).hasMessageContaining("not VERACACHE_WRITE_BEHIND with NONE");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: BROKER_RESTART, strategies: [HEAP_WRITE_BEHIND],
             expect: {HEAP_WRITE_BEHIND: [LOST_WRITES]}}
        """)).hasMessageContaining("BROKER_RESTART restarts the Kafka broker of a write-behind log: only "
        + "VERACACHE_WRITE_BEHIND has one, not HEAP_WRITE_BEHIND");
    assertThat(parse("""
        scenarios:
          - {id: a, title: A, fault: BROKER_RESTART, strategies: [VERACACHE_WRITE_BEHIND]}
        """).scenarios()).hasSize(1);
  }

  @Test
  void anUnknownScenarioIdListsTheKnownOnes() {
    assertThatThrownBy(() -> ScenarioCatalog.builtIn().select(List.of("r99")))
        .hasMessageContaining("no scenario 'r99'").hasMessageContaining("r1-stale-fill");
  }

  @Test
  void aWindowLeftOutIsDerivedFromTheDetectionBudgetPlusTheMargin() {
    Scenario race = parse("""
        scenarios:
          - {id: a, title: A, fault: FILL_RACE, strategies: [VERACACHE_CACHE_ASIDE]}
        """).scenarios().get(0);
    Scenario pause = parse("""
        scenarios:
          - {id: a, title: A, fault: REDIS_PAUSE, seconds: 6, strategies: [VERACACHE_CACHE_ASIDE]}
        """).scenarios().get(0);
    Scenario bounded = parse("""
        scenarios:
          - {id: a, title: A, fault: LISTENER_PAUSE, seconds: 6, listenerStalenessBoundMillis: 300,
             strategies: [VERACACHE_CDC_ONLY]}
        """).scenarios().get(0);

    assertThat(race.windowMillis()).isEqualTo(Scenario.WINDOW_MARGIN_MILLIS);
    assertThat(pause.windowMillis()).isEqualTo(Scenario.CLIENT_HEARTBEAT_MILLIS + Scenario.CLIENT_COMMAND_TIMEOUT_MILLIS
        + Scenario.CLIENT_DEGRADED_L1_MILLIS + Scenario.WINDOW_MARGIN_MILLIS);
    assertThat(bounded.windowMillis()).isEqualTo(2 * 300 + Scenario.CLIENT_HEARTBEAT_MILLIS
        + Scenario.WINDOW_MARGIN_MILLIS);
  }

  @Test
  void aWindowBelowTheDetectionBudgetIsRefused() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: REDIS_PAUSE, seconds: 6, windowMillis: 400, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("field 'windowMillis' must be >= the detection budget")
        .hasMessageContaining("(500 ms").hasMessageContaining("was 400");
  }

  @Test
  void aWindowThatLeavesNoReadToJudgeIsRefused() {
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: LISTENER_CRASH, windowMillis: 15000, strategies: [VERACACHE_CDC_ONLY]}
        """)).hasMessageContaining("field 'windowMillis' W = 15000 ms is more than half the run (3000 ms)");
    assertThatThrownBy(() -> parse("""
        scenarios:
          - {id: a, title: A, fault: REDIS_PAUSE, strategies: [VERACACHE_CACHE_ASIDE]}
        """)).hasMessageContaining("W = 700 ms is more than half the fault (1000 ms of a 3000 ms run)")
        .hasMessageContaining("lengthen 'seconds'");
    Scenario sixSeconds = parse("""
        scenarios:
          - {id: a, title: A, fault: REDIS_PAUSE, seconds: 6, strategies: [VERACACHE_CACHE_ASIDE]}
        """).scenarios().get(0);
    assertThatThrownBy(() -> sixSeconds.withSeconds(3)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scenario a cannot run 3 s: W = 700 ms is more than half the fault");
  }

  @Test
  void everyBuiltInScenarioLeavesReadsToJudge() {
    for (Scenario scenario : ScenarioCatalog.builtIn().scenarios()) {
      assertThat(scenario.judgeabilityProblem()).as(scenario.id()).isNull();
      assertThat(scenario.windowMillis()).as(scenario.id()).isGreaterThanOrEqualTo(scenario.detectionBudgetMillis());
    }
  }

  private static ScenarioCatalog parse(String yaml) {
    return ScenarioCatalog.parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test.yaml");
  }
}
