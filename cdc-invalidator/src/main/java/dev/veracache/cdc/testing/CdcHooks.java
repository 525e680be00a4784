package dev.veracache.cdc.testing;

import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.util.List;

/**
 * Callbacks at the race points of the CDC listener, for tests and chaos scenarios (a crash between receive and apply,
 * a held marker, a flush that waits).
 *
 * <p><b>Unsupported test seam</b>: not part of the API, may change in any release; production code passes nothing
 * ({@code CdcInvalidator.start(options)} uses {@link #NONE}). A hook runs on the listener's own threads, inside the
 * path it marks: it may block (to hold a race open) or throw.
 *
 * <p>A hook that throws leaves no state behind: nothing of the batch in hand is acknowledged (the next start replays
 * it), a stored flush duty stays stored, and the listener moves to FAILED with the hook's exception as its
 * {@code failure()}; it never stays STARTING or holds anything in Redis.
 */
public interface CdcHooks {

  CdcHooks NONE = new CdcHooks() {};

  /** A batch was received and mapped; its invalidations are about to be sent. Throwing here stops the listener. */
  default void beforeApply(List<KeyInvalidation> invalidations) {}

  /**
   * Every invalidation of a batch was taken by Redis; the sequence written after it (its progress) is about to be sent.
   * Throwing here stops the listener.
   */
  default void afterApply(List<KeyInvalidation> invalidations) {}

  /**
   * The listener is live after a purged position or a start without a stored position, and is about to delete every
   * key of {@code namespaces}. Runs on the listener's start-up thread; {@code CdcInvalidator.close()} interrupts it.
   * Throwing here stops the listener (the duty stays stored: the next start flushes).
   */
  default void beforeFlush(List<String> namespaces) {}

  /**
   * A mapped table changed as a whole ({@code reason}: truncate, drop, rename, create); under policy
   * FLUSH_NAMESPACES its namespace is about to be flushed, after the invalidations of the changes before it were
   * applied. Throwing here stops the listener.
   */
  default void beforeFlush(String table, String reason, String namespace) {}
}
