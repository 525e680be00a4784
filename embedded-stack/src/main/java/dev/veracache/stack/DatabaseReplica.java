package dev.veracache.stack;

import java.time.Duration;

/**
 * A read replica of the stack's database ({@link EmbeddedStack#databaseReplica()}): a second MariaDB that applies the
 * primary's binlog (GTID replication), for loaders that read from a replica. It starts from a consistent dump of the
 * primary's database, then applies what the primary commits.
 *
 * <p>Lag on demand: {@link #stopApplying()} stops its SQL thread (the primary's events still arrive, none is applied),
 * {@link #resumeApplying()} starts it again, {@link #awaitCaughtUp(Duration)} waits until it applied everything the
 * primary had committed when called. Its own {@link ServerControls} stop, restart and pause the replica's process;
 * replication resumes by itself after a restart.
 */
public interface DatabaseReplica extends DatabaseServer {

  /** The server it replicates. */
  DatabaseServer primary();

  /** {@code STOP SLAVE SQL_THREAD}: from now on it applies nothing, so it lags behind every later commit. */
  void stopApplying();

  /** {@code START SLAVE SQL_THREAD}: it applies what it received meanwhile, then keeps up. */
  void resumeApplying();

  /**
   * Waits until the replica applied every transaction the primary had committed at the call.
   *
   * @return false if it had not within {@code timeout} (its SQL thread stopped, or replication broken)
   */
  boolean awaitCaughtUp(Duration timeout);
}
