package dev.veracache.spring.cdc;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Keeps an orderly stop of the CDC listener quiet: once the listener is stopping (SIGTERM or Ctrl-C before it is live,
 * a restart during its first snapshot), a Debezium WARN or ERROR whose cause is an {@link InterruptedException} is the
 * engine being stopped, not a failure: nothing is lost, the next start resumes from the last acknowledged position.
 * Every other event, and every event while the listener runs, passes.
 *
 * <p>Installed by the starter into Logback's context when the listener is configured and Logback is the logging
 * system ({@link #install()}), switched by the listener's lifecycle ({@link #callbacks()}); nothing to configure.
 */
public final class ShutdownInterruptFilter extends TurboFilter {

  private static volatile boolean stopping;

  /**
   * Adds the filter to Logback's context (once) and returns the callbacks that switch it; does nothing to the
   * logging when Logback is not the SLF4J binding.
   */
  public static CdcLifecycleCallbacks install() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context
        && context.getTurboFilterList().stream().noneMatch(ShutdownInterruptFilter.class::isInstance)) {
      ShutdownInterruptFilter filter = new ShutdownInterruptFilter();
      filter.setContext(context);
      filter.start();
      context.addTurboFilter(filter);
    }
    return callbacks();
  }

  /** The listener's start and stop, as the starter's lifecycle reports them. */
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
