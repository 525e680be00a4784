package dev.veracache.internal;

/**
 * A Redis call that did not complete. {@link Kind#UNAVAILABLE} means Redis cannot be reached or did not answer in time
 * (the circuit breaker counts it, callers degrade to the loader); {@link Kind#REFUSED} means Redis answered with an
 * error such as OOM or READONLY (callers degrade the same way, the breaker does not count it).
 *
 * <p>Internal: not part of the API; may change in any release.
 */
public final class L2Failure extends RuntimeException {

  public enum Kind { UNAVAILABLE, REFUSED }

  /** The reason of a command on a key that holds another type than a string: a foreign key under our namespace. */
  public static final String WRONG_TYPE = "wrongtype";

  public final Kind kind;
  /** A metric tag: timeout, disconnected, circuit_open, loading, busy, oom, readonly, wrongtype, noperm, other. */
  public final String reason;

  public L2Failure(Kind kind, String reason, String message, Throwable cause) {
    super(message, cause, false, false);
    this.kind = kind;
    this.reason = reason;
  }
}
