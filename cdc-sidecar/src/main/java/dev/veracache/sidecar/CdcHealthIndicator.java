package dev.veracache.sidecar;

import dev.veracache.cdc.CdcInvalidator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * UP only while the listener is proven to stream (its marker came back through the binlog) and is not stalled. DOWN
 * otherwise, with {@code state} (not started, starting, stalled, stopped, closed) and the listener's reason.
 */
public class CdcHealthIndicator implements HealthIndicator {

  private final CdcInvalidatorLifecycle listener;

  public CdcHealthIndicator(CdcInvalidatorLifecycle listener) {
    this.listener = listener;
  }

  @Override
  public Health health() {
    CdcInvalidator cdc = listener.invalidator();
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
