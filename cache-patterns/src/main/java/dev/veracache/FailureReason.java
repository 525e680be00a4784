package dev.veracache;

/**
 * Why a Redis call did not complete: the one spelling of a failure, used by the {@code reason} tag of
 * {@code veracache.redis.errors} ({@link #tag()}), by {@link CacheUnavailableException#getReason()} and
 * by the classification of every Redis error (log lines name the reason in words).
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@link #tag()} is the documented metric tag value (module README, "Metrics"); it never changes for an existing
 *       constant, since dashboards and alerts select on it. Tags are distinct, lower case.</li>
 *   <li>Each reason is either <em>unavailable</em> (Redis cannot be reached, did not answer in time, or cannot serve
 *       now: the circuit breaker counts it) or a <em>refusal</em> (Redis answered with an error: the breaker does not
 *       count it, an open breaker would not help). Callers degrade to the loader in both cases.</li>
 *   <li>An error reply is classified by its code (OOM, READONLY, ...), read the same from Redis 6.2 and 7.</li>
 * </ul>
 */
public enum FailureReason {

  /** The command did not complete within {@code commandTimeout}. Unavailable. */
  TIMEOUT("timeout", true),
  /** No connection to Redis (refused, reset, reconnecting). Unavailable. */
  DISCONNECTED("disconnected", true),
  /** The circuit breaker is open: Redis is considered down and was not called. Unavailable. */
  CIRCUIT_OPEN("circuit_open", true),
  /** {@code LOADING}: Redis is loading its data set after a restart. Unavailable. */
  LOADING("loading", true),
  /** {@code BUSY}: a script or module command is running too long. Unavailable. */
  BUSY("busy", true),
  /** {@code OOM}: Redis is at {@code maxmemory} and refuses writes. A refusal. */
  OOM("oom", false),
  /** {@code READONLY}: a read-only replica (for example after a failover) refuses writes. A refusal. */
  READONLY("readonly", false),
  /** {@code WRONGTYPE}: the key holds another type than a string (a foreign key in a cache's namespace). A refusal. */
  WRONGTYPE("wrongtype", false),
  /** {@code NOPERM}: the ACL user may not run the command or touch the key. A refusal. */
  NOPERM("noperm", false),
  /**
   * {@code NOREPLICAS}: a master configured with {@code min-replicas-to-write} refuses writes while too few replicas
   * are connected. A refusal.
   */
  NOREPLICAS("noreplicas", false),
  /**
   * Redis took the write but fewer replicas (or no append-only file) acknowledged it in time than asked for: the
   * client's {@code invalidationReplicas}, the CDC listener's {@code redisDurability}. A refusal.
   */
  NOT_DURABLE("not_durable", false),
  /** Any other error reply or failure. A refusal. */
  OTHER("other", false);

  private final String tag;
  private final boolean unavailable;

  FailureReason(String tag, boolean unavailable) {
    this.tag = tag;
    this.unavailable = unavailable;
  }

  /** The value of the {@code reason} metric tag, for example {@code circuit_open}. */
  public String tag() {
    return tag;
  }

  /**
   * True when Redis could not be reached or could not serve now (the circuit breaker counts it; retrying soon may
   * help); false when it answered with a refusal (OOM, READONLY, an ACL...: it lasts until someone fixes Redis).
   */
  public boolean isUnavailable() {
    return unavailable;
  }
}
