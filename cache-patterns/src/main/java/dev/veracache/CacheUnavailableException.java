package dev.veracache;

import static dev.veracache.Preconditions.notNull;

/**
 * Redis did not take an operation that must not be dropped (unreachable, timed out, OOM, READONLY, not durable): retry
 * it. Thrown by the invalidation calls the CDC listener makes; a cache's reads and invalidations never throw it (reads
 * degrade to the loader, invalidations are queued and retried).
 */
public class CacheUnavailableException extends VeracacheException {

  private final FailureReason reason;

  public CacheUnavailableException(String message, FailureReason reason, Throwable cause) {
    super(message, cause);
    this.reason = notNull(reason, "reason");
  }

  /** Why Redis did not take it; {@link FailureReason#tag()} spells it as the {@code veracache.redis.errors} tag. */
  public FailureReason getReason() {
    return reason;
  }
}
