package dev.veracache.spring.cdc;

/**
 * Told by {@link CdcInvalidatorLifecycle} just before it starts the listener and just before it closes it (for
 * example, the sidecar keeps Debezium's interrupted work out of its log once the listener is stopping). Beans of this
 * type are picked up by the auto-configuration. A callback must not throw.
 */
public interface CdcLifecycleCallbacks {

  /** Before the listener starts (also before a restart). */
  default void starting() {}

  /** Before the listener closes. */
  default void stopping() {}
}
