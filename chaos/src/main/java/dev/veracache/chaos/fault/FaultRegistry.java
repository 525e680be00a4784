package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.FaultKind;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Which {@link Fault} class does what a scenario's {@link FaultKind} names. Adding a fault is a constant of
 * {@link FaultKind} (its name in scenario files, whether it is timed, what W must cover), its class, and one line
 * here.
 *
 * <p>Invariant: every {@link FaultKind} has a fault (checked when the class loads), and a fresh one per run (a fault
 * holds what it injected until it healed).
 */
public final class FaultRegistry {

  private static final Map<FaultKind, Supplier<Fault>> FAULTS = new EnumMap<>(FaultKind.class);

  static {
    FAULTS.put(FaultKind.NONE, NoFault::new);
    FAULTS.put(FaultKind.FILL_RACE, RaceInjections.FillRace::new);
    FAULTS.put(FaultKind.GET_REPLY_RACE, RaceInjections.GetReplyRace::new);
    FAULTS.put(FaultKind.SET_REORDER, RaceInjections.SetReorder::new);
    FAULTS.put(FaultKind.SET_VS_DELETE, RaceInjections.SetVsDelete::new);
    FAULTS.put(FaultKind.EVICTION_RACE, EvictionRace::new);
    FAULTS.put(FaultKind.REDIS_READONLY, RedisFaults.ReadOnly::new);
    FAULTS.put(FaultKind.REDIS_PAUSE, RedisFaults.Pause::new);
    FAULTS.put(FaultKind.REDIS_RESTART, RedisFaults.Restart::new);
    FAULTS.put(FaultKind.CLUSTER_FAILOVER, ClusterFailover::new);
    FAULTS.put(FaultKind.REDIS_OLD_SNAPSHOT, RedisFaults.OldSnapshot::new);
    FAULTS.put(FaultKind.REDIS_LATENCY, NetworkFaults.Latency::new);
    FAULTS.put(FaultKind.PARTITION_INSTANCE, NetworkFaults.PartitionInstance::new);
    FAULTS.put(FaultKind.DROP_CONNECTIONS, NetworkFaults.DropConnections::new);
    FAULTS.put(FaultKind.LISTENER_CRASH, ListenerFaults.Crash::new);
    FAULTS.put(FaultKind.LISTENER_PAUSE, ListenerFaults.Pause::new);
    FAULTS.put(FaultKind.DB_RESTART, DatabaseFaults.Restart::new);
    FAULTS.put(FaultKind.TRUNCATE, DatabaseFaults.Truncate::new);
    FAULTS.put(FaultKind.REPLICA_LAG, DatabaseFaults.ReplicaLag::new);
    // The write-behind run kills its own processes and restarts its broker (the write-behind strategies are the only
    // ones of PROCESS_KILL and BROKER_RESTART, and run no cache instances): nothing to inject into a cache run.
    FAULTS.put(FaultKind.PROCESS_KILL, NoFault::new);
    FAULTS.put(FaultKind.BROKER_RESTART, NoFault::new);
    for (FaultKind kind : FaultKind.values()) {
      if (!FAULTS.containsKey(kind)) {
        throw new ExceptionInInitializerError("no Fault class for " + kind + ": add one to FaultRegistry");
      }
    }
  }

  private FaultRegistry() {}

  /** A fresh fault of this kind, for one run. */
  public static Fault create(FaultKind kind) {
    return FAULTS.get(kind).get();
  }

  /** NONE, PROCESS_KILL and BROKER_RESTART (whose run injects them itself): nothing is injected into a cache run. */
  private static final class NoFault implements Fault {}
}
