package dev.veracache.spring.cache;

/**
 * For tests that drive a Spring cache the way Spring's cache interceptor does without a proxy: the marks that
 * {@link OpenReadScope} puts around each cached method call, which a test may begin and end in separate tasks of one
 * thread.
 */
public final class SpringCalls {

  private SpringCalls() {}

  /** A cached method call begins on this thread; pass the result to {@link #end}. */
  public static long begin() {
    return OpenReads.beginCall();
  }

  /** The call ends (returned, threw, or its result vetoed): the reads it left open are abandoned. */
  public static void end(long outer) {
    OpenReads.endCall(outer);
  }

  /** How many reads the thread has open (a miss waiting for its put). */
  public static int openOnThisThread() {
    return OpenReads.openOnThisThread();
  }
}
