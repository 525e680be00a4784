package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.scenario.FaultKind;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.RaceInjection;
import dev.veracache.chaos.workload.RunContext;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every fault kind has its class, and the classes say what the switches over the fault kind used to say: which
 * faults hold racing threads, which need proxies or the listener in a JVM of its own, which are injected in a fault
 * window, and which counts prove each one, in the order the report shows them. No server: nothing is injected.
 */
class FaultRegistryTest {

  @Test
  void everyKindHasAFreshFaultAndOnlyTheRaceInjectionsHoldThreads() {
    for (FaultKind kind : FaultKind.values()) {
      Fault fault = FaultRegistry.create(kind);
      assertThat(fault).as(kind.name()).isNotNull().isNotSameAs(FaultRegistry.create(kind));
      assertThat(fault.raceInjection() != RaceInjection.NONE).as(kind + " holds threads")
          .isEqualTo(kind.raceInjection());
    }
  }

  @Test
  void theTimedFaultsOfACacheRunInjectSomething() throws Exception {
    for (FaultKind kind : FaultKind.values()) {
      Class<?> declaring = FaultRegistry.create(kind).getClass().getMethod("inject", FaultTarget.class)
          .getDeclaringClass();
      boolean injects = declaring != Fault.class;
      // PROCESS_KILL and BROKER_RESTART are injected by the write-behind run itself (it has no cache run)
      assertThat(injects).as(kind + " injects").isEqualTo(kind.timed && kind != FaultKind.PROCESS_KILL
          && kind != FaultKind.BROKER_RESTART);
    }
  }

  @Test
  void onlyTheNetworkFaultsNeedProxiesAndOnlyTheListenerFaultsItsOwnJvm() {
    Set<FaultKind> proxied = EnumSet.noneOf(FaultKind.class);
    Set<FaultKind> ownJvm = EnumSet.noneOf(FaultKind.class);
    for (FaultKind kind : FaultKind.values()) {
      Fault fault = FaultRegistry.create(kind);
      if (fault.needsProxies()) {
        proxied.add(kind);
      }
      if (fault.listenerInOwnJvm()) {
        ownJvm.add(kind);
      }
    }
    assertThat(proxied).containsExactlyInAnyOrder(FaultKind.REDIS_LATENCY, FaultKind.PARTITION_INSTANCE,
        FaultKind.DROP_CONNECTIONS);
    assertThat(ownJvm).containsExactlyInAnyOrder(FaultKind.LISTENER_CRASH, FaultKind.LISTENER_PAUSE);
  }

  @Test
  void theProvingMeasuresComeInTheReportsOrder() {
    Strategy veracache = Strategy.VERACACHE_CACHE_ASIDE;
    assertThat(FaultRegistry.create(FaultKind.EVICTION_RACE).provingMeasures(veracache)).containsExactly(
        EvictionRace.HELD_PAST_EVICTION, RunContext.HOLDS_OVERTAKEN, RunContext.HELD_WRITES_REFUSED,
        EvictionRace.KEYS_EVICTED);
    assertThat(FaultRegistry.create(FaultKind.EVICTION_RACE).provingMeasures(Strategy.VERSION_FENCE_ONLY))
        .as("a baseline's fence refuses nothing to count").containsExactly(EvictionRace.HELD_PAST_EVICTION,
            RunContext.HOLDS_OVERTAKEN, EvictionRace.KEYS_EVICTED);
    assertThat(FaultRegistry.create(FaultKind.SET_VS_DELETE).provingMeasures(veracache)).containsExactly(
        RaceInjections.SetVsDelete.SETS_AFTER_DELETE, RunContext.HOLDS_OVERTAKEN, RunContext.HELD_WRITES_REFUSED);
    assertThat(FaultRegistry.create(FaultKind.FILL_RACE).provingMeasures(Strategy.NAIVE))
        .containsExactly(RunContext.HOLDS_OVERTAKEN);
    assertThat(FaultRegistry.create(FaultKind.TRUNCATE).provingMeasures(veracache))
        .containsExactly(DatabaseFaults.Truncate.TRUNCATES);
    assertThat(FaultRegistry.create(FaultKind.REDIS_OLD_SNAPSHOT).provingMeasures(veracache))
        .containsExactly(RedisFaults.OldSnapshot.KEYS_RESTORED);
    assertThat(FaultRegistry.create(FaultKind.REDIS_PAUSE).provingMeasures(veracache)).isEmpty();
    assertThat(FaultRegistry.create(FaultKind.LISTENER_CRASH).provingMeasures(Strategy.VERACACHE_CDC_ONLY))
        .containsExactly(ListenerFaults.Crash.CRASHES, ListenerFaults.Crash.REPLAYED);
    assertThat(FaultRegistry.create(FaultKind.LISTENER_CRASH).provingMeasures(Strategy.FORGETFUL_CDC))
        .as("it replays nothing: its stale keys prove it").containsExactly(ListenerFaults.Crash.CRASHES);
  }
}
