package dev.veracache.chaos.scenario;

/**
 * What a scenario injects, by the name its file gives ({@code fault: REDIS_PAUSE}), and what the catalogue needs to
 * know about it before a run: whether it is timed (active for {@code faultFraction} of the run, the middle third by
 * default) or a race injection (active for all of it), and what a Veracache client must do before its answers follow
 * the database again (the detection budget W is derived from). What a fault does is its class in
 * {@code dev.veracache.chaos.fault} (see {@code FaultRegistry}): adding a fault is a constant here, that class and
 * one line of the registry.
 */
public enum FaultKind {
  NONE(false, Detection.OWN_INVALIDATION),
  /** Race injection: every fill is held until a write that committed after its load settled (R1, R3, R12). */
  FILL_RACE(false, Detection.OWN_INVALIDATION),
  /** Race injection: a Redis GET's reply is held until a newer write of the key settled (R7). */
  GET_REPLY_RACE(false, Detection.OWN_INVALIDATION),
  /** Race injection: a write-through cache set is held until a newer write's set settled (R4). */
  SET_REORDER(false, Detection.OWN_INVALIDATION),
  /** Race injection: a write-through cache set is held until a delete of its row committed and settled (R13). */
  SET_VS_DELETE(false, Detection.OWN_INVALIDATION),
  /**
   * Race injection under memory pressure (R14): Redis evicts keys (a small {@code maxmemory}, filler keys outside the
   * namespaces); each fill is held until a newer write settled and then until the key's record was evicted, and each
   * write-through set until a newer write's set settled and then the key's record was evicted.
   */
  EVICTION_RACE(false, Detection.OWN_INVALIDATION),
  /** Redis refuses writes (made a replica of a dead primary; it keeps its data): deletes fail (R2). */
  REDIS_READONLY(true, Detection.RECOVERY_GRACE),
  /** Redis is paused (SIGSTOP): calls time out, pushes stop, nothing says so. */
  REDIS_PAUSE(true, Detection.NOTICE_REDIS_FAULT),
  /** Redis is stopped and started again with its data lost. */
  REDIS_RESTART(true, Detection.NOTICE_REDIS_FAULT),
  /** Every instance's Redis connection gets {@code latencyMillis} one-way latency (through the TCP proxy). */
  REDIS_LATENCY(true, Detection.ONE_WAY_LATENCY),
  /** The last instance is cut off from Redis (its proxy closes and refuses connections), then healed (R5). */
  PARTITION_INSTANCE(true, Detection.NOTICE_REDIS_FAULT),
  /**
   * Every instance's Redis connections are dropped at the start of the middle third, and new ones refused for
   * {@code NetworkFaults.DROP_REFUSAL_MILLIS} (a network blip); then the clients reconnect by themselves.
   */
  DROP_CONNECTIONS(true, Detection.NOTICE_REDIS_FAULT),
  /** The CDC listener (a separate JVM) dies after reading a batch and before applying it, then restarts (R6). */
  LISTENER_CRASH(true, Detection.OWN_INVALIDATION),
  /** The CDC listener (a separate JVM) is paused (SIGSTOP): invalidations lag, then catch up. */
  LISTENER_PAUSE(true, Detection.OWN_INVALIDATION),
  /** The database is restarted. */
  DB_RESTART(true, Detection.NOTICE_REDIS_FAULT),
  /**
   * Redis saves a snapshot when the fault starts; writes go on (and are invalidated); when it ends, Redis is restarted
   * and loads that older snapshot: acknowledged invalidations are lost and old values reappear (R15).
   */
  REDIS_OLD_SNAPSHOT(true, Detection.NOTICE_REDIS_FAULT),
  /**
   * Every load reads a replica of the database ({@code EmbeddedStack.databaseReplica()}), which stops applying the
   * primary's commits for the fault's span and then catches up. A load during the lag answers the old row (or "not
   * found" for a row inserted since) after the change was committed and invalidated: only a fill that checks the
   * change's version keeps it out of the cache. Reads the loader answered are the replica's, not the cache's, so they
   * are not judged stale; what the cache answers is.
   */
  REPLICA_LAG(true, Detection.OWN_INVALIDATION),
  /** {@code TRUNCATE TABLE} of the workload's table when the fault starts; later writes insert the rows again (R16). */
  TRUNCATE(true, Detection.OWN_INVALIDATION),
  /**
   * The process of a write-behind is killed with SIGKILL (R8): the heap-queue one's, or Veracache's producer (and its
   * flusher, killed earlier and started again so that it replays). The write-behind run injects it itself.
   */
  PROCESS_KILL(true, Detection.OWN_INVALIDATION),
  /**
   * The Kafka broker of a write-behind log is killed with SIGKILL for the fault's span and started again (it recovers
   * its log): puts meanwhile fail and are not acknowledged. The write-behind run injects it itself.
   */
  BROKER_RESTART(true, Detection.OWN_INVALIDATION),
  /**
   * On the embedded Redis Cluster: when the fault starts, the replica of the master serving the hottest row's key is
   * paused and its replication link cut; when it ends, that master is killed and the replica promoted: what the master
   * took in between (tombstones, fills, the listener's sequence) is lost, and old values are back (R15 on a cluster).
   */
  CLUSTER_FAILOVER(true, Detection.NOTICE_REDIS_FAULT);

  /** Whether the fault is active for {@code faultFraction} of the run (else: a race injection, all of it). */
  public final boolean timed;
  /** What a Veracache client must do before its answers follow the database again (see {@link Detection}). */
  private final Detection detection;

  FaultKind(boolean timed, Detection detection) {
    this.timed = timed;
    this.detection = detection;
  }

  /** Whether the workload's loads read the database's replica (REPLICA_LAG) instead of the database. */
  public boolean loadsFromReplica() {
    return this == REPLICA_LAG;
  }

  /** Whether the run's caches and listener use the embedded Redis Cluster instead of the single Redis. */
  public boolean onRedisCluster() {
    return this == CLUSTER_FAILOVER;
  }

  /** A fault that holds fills, replies or sets until a newer write overtook them (the race catalogue's R1-R14). */
  public boolean raceInjection() {
    return !timed && this != NONE;
  }

  /**
   * How long a Veracache client may serve an answer older than a commit under this fault, beyond the margin: see
   * {@link Scenario#detectionBudgetMillis()}.
   */
  int detectionBudgetMillis(Scenario.FaultSpec spec) {
    return switch (detection) {
      case OWN_INVALIDATION -> 0;
      case NOTICE_REDIS_FAULT -> Scenario.CLIENT_HEARTBEAT_MILLIS + Scenario.CLIENT_COMMAND_TIMEOUT_MILLIS
          + Scenario.CLIENT_DEGRADED_L1_MILLIS;
      case RECOVERY_GRACE -> Scenario.CLIENT_RECOVERY_GRACE_MILLIS;
      case ONE_WAY_LATENCY -> spec.latencyMillis();
    };
  }

  /** What stands between a commit and a client's answers following it, under a fault. */
  enum Detection {
    /** The cache's own invalidation after the commit is all there is (races, no fault). */
    OWN_INVALIDATION,
    /**
     * An instance must first notice that Redis is paused, gone, partitioned or dropped its connections (or restarted
     * from an old snapshot): heartbeat + command timeout + degraded L1 trust.
     */
    NOTICE_REDIS_FAULT,
    /** Refused invalidations are retried, and reads of their keys bypass Redis and L1 meanwhile: the recovery grace. */
    RECOVERY_GRACE,
    /** One way's latency of a slow network. */
    ONE_WAY_LATENCY
  }
}
