package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.stack.RedisServer;
import java.util.List;

/** The timed faults of the Redis server itself: read-only, paused, restarted empty, restarted from an old snapshot. */
final class RedisFaults {

  private RedisFaults() {}

  /**
   * REDIS_READONLY (R2): Redis refuses writes, made a replica of a dead primary (it keeps its data): deletes fail. On a
   * cluster (where a master cannot be made a replica of a stranger), the master serving the hottest key refuses them:
   * its replica is paused and cut off, and the master set to need one ({@code min-replicas-to-write 1}: NOREPLICAS).
   */
  static final class ReadOnly implements Fault {
    private RedisServer master;
    private List<RedisServer> cutOff = List.of();

    @Override
    public void inject(FaultTarget target) {
      if (!target.onCluster()) {
        target.redisCommand(c -> c.replicaof("127.0.0.1", 1)); // no primary there
        return;
      }
      master = target.hotMaster();
      cutOff = target.stack().redisCluster().cutOffReplicas(master);
      FaultTarget.redisCommand(master, c -> c.configSet("min-replicas-to-write", "1"));
    }

    @Override
    public void end(FaultTarget target) {
      if (!target.onCluster()) {
        target.redisCommand(c -> c.replicaofNoOne());
        return;
      }
      FaultTarget.redisCommand(master, c -> c.configSet("min-replicas-to-write", "0"));
      cutOff.forEach(RedisServer::resume);
      cutOff = List.of();
    }
  }

  /** REDIS_PAUSE: Redis is paused (SIGSTOP): calls time out, pushes stop, nothing says so. */
  static final class Pause implements Fault {
    @Override
    public void inject(FaultTarget target) {
      target.stack().redis().pause();
    }

    @Override
    public void end(FaultTarget target) {
      target.stack().redis().resume();
    }
  }

  /** REDIS_RESTART: Redis is stopped and started again with its data lost (no persistence). */
  static final class Restart implements Fault {
    @Override
    public void inject(FaultTarget target) {
      target.stack().redis().stop();
    }

    @Override
    public void end(FaultTarget target) {
      target.stack().redis().start();
    }
  }

  /**
   * REDIS_OLD_SNAPSHOT (R15): Redis saves a snapshot when the fault starts; writes go on (and are invalidated); when it
   * ends, Redis is restarted and loads that older snapshot: acknowledged invalidations are lost, old values reappear.
   * Invariant: no snapshot file is left for a later restart to load (closed once loaded, and by {@link #heal}).
   */
  static final class OldSnapshot implements Fault {
    static final String KEYS_RESTORED = "keys restored from an old snapshot";

    private RedisSnapshot snapshot;

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      return List.of(KEYS_RESTORED);
    }

    @Override
    public void inject(FaultTarget target) {
      snapshot = RedisSnapshot.take(target.stack().redis(), target.context().namespace + ":");
      target.context().measures.add("keys in the snapshot", snapshot.keysAtSave());
    }

    @Override
    public void end(FaultTarget target) {
      long age = snapshot.ageMillis();
      snapshot.restartFromSnapshot();
      snapshot.close(); // loaded: a later restart must start empty again
      target.context().measures.add(KEYS_RESTORED, snapshot.keysRestored());
      target.context().measures.add("snapshot age ms", age);
    }

    @Override
    public void heal(FaultTarget target) {
      if (snapshot != null) {
        snapshot.close(); // before the servers are healed: a Redis started then must not load it
      }
    }
  }
}
