package dev.veracache.demo;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import dev.veracache.spring.cdc.CdcLifecycleCallbacks;
import org.slf4j.Marker;

/**
 * Keeps an orderly stop of the CDC listener quiet (Ctrl-C before it is live, or the restart-listener button during
 * its first snapshot): once the listener is stopping, a Debezium WARN or ERROR whose cause is an
 * {@link InterruptedException} is the engine being stopped, not a failure (nothing is lost: the next start resumes
 * from the last acknowledged position). Every other event, and every event while the listener runs, passes. The same
 * filter as the cdc-sidecar's; installed by {@code logback-spring.xml}, switched by {@link #callbacks()}.
 */
public final class ShutdownInterruptFilter extends TurboFilter {

  private static volatile boolean stopping;

  /** The listener's start and stop, as the starter reports them. */
  static CdcLifecycleCallbacks callbacks() {
    return new CdcLifecycleCallbacks() {
      @Override
      public void starting() {
        stopping = false;
      }

      @Override
      public void stopping() {
        stopping = true;
      }
    };
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
