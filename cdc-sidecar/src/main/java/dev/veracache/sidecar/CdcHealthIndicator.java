package dev.veracache.sidecar;

import dev.veracache.cdc.CdcInvalidator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** UP only while the listener is proven to stream (its marker came back through the binlog). */
public class CdcHealthIndicator implements HealthIndicator {

  private final CdcListener listener;

  public CdcHealthIndicator(CdcListener listener) {
    this.listener = listener;
  }

  @Override
  public Health health() {
    CdcInvalidator cdc = listener.invalidator();
    if (cdc == null) {
      return Health.down().withDetail("state", "not started").build();
    }
    if (cdc.failure() != null) {
      return Health.down(new IllegalStateException(cdc.failure().getMessage())).withDetail("state", "stopped")
          .build();
    }
    return cdc.isLive() ? Health.up().withDetail("state", "streaming").build()
        : Health.down().withDetail("state", "starting: waiting for the marker to come back through the binlog")
            .build();
  }
}
