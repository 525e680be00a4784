package dev.veracache;

/** Redis did not take an operation that must not be dropped (unreachable, timed out, OOM, READONLY): retry it. */
public class CacheUnavailableException extends VeracacheException {

  private final String reason;

  public CacheUnavailableException(String message, String reason, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** A short machine-readable reason: timeout, disconnected, circuit_open, oom, readonly, loading, busy, other. */
  public String reason() {
    return reason;
  }
}
