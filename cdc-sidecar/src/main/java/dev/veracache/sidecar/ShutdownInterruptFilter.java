package dev.veracache.sidecar;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Keeps an orderly stop quiet: once the sidecar is stopping its listener ({@link #stopping()}), a Debezium WARN or ERROR
 * whose cause is an {@link InterruptedException} is the engine being stopped (for example in the middle of its first
 * snapshot, when SIGTERM comes before the listener is live), not a failure: nothing is lost, the next start resumes
 * from the last acknowledged position. Every other event, and every event before the stop, passes.
 */
public final class ShutdownInterruptFilter extends TurboFilter {

  private static volatile boolean stopping;

  /** The sidecar began stopping its listener. */
  static void stopping() {
    stopping = true;
  }

  /** The sidecar (re)started its listener: interruptions are failures again. */
  static void running() {
    stopping = false;
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (!stopping || !level.isGreaterOrEqual(Level.WARN) || !logger.getName().startsWith("io.debezium")) {
      return FilterReply.NEUTRAL;
    }
    Throwable cause = t != null ? t : lastThrowable(params);
    for (Throwable c = cause; c != null; c = c.getCause()) {
      if (c instanceof InterruptedException) {
        return FilterReply.DENY;
      }
    }
    return FilterReply.NEUTRAL;
  }

  private static Throwable lastThrowable(Object[] params) {
    return params != null && params.length > 0 && params[params.length - 1] instanceof Throwable last ? last : null;
  }
}
