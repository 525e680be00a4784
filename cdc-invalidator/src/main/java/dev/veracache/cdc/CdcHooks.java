package dev.veracache.cdc;

import dev.veracache.RedisInvalidator.KeyInvalidation;
import java.util.List;

/** Callbacks at the race points of the listener, for tests and chaos scenarios (a crash between receive and apply). */
public interface CdcHooks {

  CdcHooks NONE = new CdcHooks() {};

  /** A batch was received and mapped; its invalidations are about to be sent. Throwing here stops the listener. */
  default void beforeApply(List<KeyInvalidation> invalidations) {}

  /**
   * A mapped table changed as a whole ({@code reason}: truncate, drop, rename, create); under policy
   * FLUSH_NAMESPACES its namespace is about to be flushed, after the invalidations of the changes before it were
   * applied. Throwing here stops the listener.
   */
  default void beforeFlush(String table, String reason, String namespace) {}
}
