package dev.veracache.internal;

import dev.veracache.FailureReason;

/**
 * A Redis call that did not complete, and why ({@link FailureReason}). {@link Kind#UNAVAILABLE} means Redis cannot
 * be reached or did not answer in time (the circuit breaker counts it, callers degrade to the loader);
 * {@link Kind#REFUSED} means Redis answered with an error such as OOM or READONLY (callers degrade the same way, the
 * breaker does not count it). The kind follows from the reason ({@link FailureReason#isUnavailable()}), so the two
 * never disagree.
 *
 * <p>Internal: not part of the API; may change in any release.
 */
public final class L2Failure extends RuntimeException {

  public enum Kind { UNAVAILABLE, REFUSED }

  public final Kind kind;
  /** Why; its {@link FailureReason#tag()} is the {@code reason} tag of {@code veracache.redis.errors}. */
  public final FailureReason reason;

  public L2Failure(FailureReason reason, String message, Throwable cause) {
    super(message, cause, false, false);
    this.kind = reason.isUnavailable() ? Kind.UNAVAILABLE : Kind.REFUSED;
    this.reason = reason;
  }
}
