package dev.veracache.cdc;

import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.util.List;

/** Callbacks at the race points of the listener, for tests and chaos scenarios (a crash between receive and apply). */
public interface CdcHooks {

  CdcHooks NONE = new CdcHooks() {};

  /** A batch was received and mapped; its invalidations are about to be sent. Throwing here stops the listener. */
  default void beforeApply(List<KeyInvalidation> invalidations) {}

  /**
   * The listener is live after a purged position or a start without a stored position, and is about to delete every
   * key of {@code namespaces}. Runs on the listener's start-up thread; {@link CdcInvalidator#close()} interrupts it.
   */
  default void beforeFlush(List<String> namespaces) {}

  /**
   * A mapped table changed as a whole ({@code reason}: truncate, drop, rename, create); under policy
   * FLUSH_NAMESPACES its namespace is about to be flushed, after the invalidations of the changes before it were
   * applied. Throwing here stops the listener.
   */
  default void beforeFlush(String table, String reason, String namespace) {}
}
