package dev.veracache.spring.cdc;

import dev.veracache.cdc.CdcInvalidator;
import java.util.function.Supplier;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Health contributor {@code veracacheCdc}: UP only while the listener is proven to stream (its marker came back
 * through the binlog) and is not stalled. DOWN otherwise, with {@code state} (not started, starting, stalled, stopped,
 * closed) and the listener's reason. In the readiness group by default ({@link CdcReadinessEnvironmentPostProcessor}),
 * so an application takes no traffic before invalidations flow.
 */
public class CdcHealthIndicator implements HealthIndicator {

  /** The contributor's name (its bean is {@code veracacheCdcHealthIndicator}). */
  public static final String NAME = "veracacheCdc";
  /** Turned off by {@code management.health.veracache-cdc.enabled=false}. */
  public static final String PROPERTY_NAME = "veracache-cdc";

  private final Supplier<CdcInvalidator> listener;

  /** @param listener the listener, or null while it has not started */
  public CdcHealthIndicator(Supplier<CdcInvalidator> listener) {
    this.listener = listener;
  }

  @Override
  public Health health() {
    CdcInvalidator cdc = listener.get();
    if (cdc == null) {
      return Health.down().withDetail("state", "not started").build();
    }
    CdcInvalidator.Status status = cdc.status();
    return switch (status.state()) {
      case LIVE -> Health.up().withDetail("state", "streaming").build();
      case STARTING -> Health.down().withDetail("state", "starting").withDetail("reason", status.detail()).build();
      case STALLED -> Health.down().withDetail("state", "stalled").withDetail("reason", status.detail()).build();
      case FAILED -> Health.down(new IllegalStateException(status.detail())).withDetail("state", "stopped").build();
      case CLOSED -> Health.down().withDetail("state", "closed").build();
    };
  }
}
