package dev.veracache.demo;

import dev.veracache.Veracache;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.search.Search;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * The CDC listener as the page shows it: the in-app listener (the starter's {@link CdcInvalidatorLifecycle}, its
 * {@code report()} as in the {@code veracache} endpoint, and its {@code veracache.cdc.events{result=applied}} meter),
 * or, in compose, the cdc-sidecar seen through the progress it publishes to Redis (the client's listener staleness
 * of {@code products}).
 *
 * <p>Invariant: {@code applied} is cumulative since the app started although the listener's meters are removed when
 * it closes (a restart): what a closed listener applied is carried over once, at its stop ({@link #stopInApp}).
 */
@Component
public class CdcView {

  private final ObjectProvider<CdcInvalidatorLifecycle> lifecycle;
  private final Veracache veracache;
  private long carriedApplied;

  CdcView(ObjectProvider<CdcInvalidatorLifecycle> lifecycle, Veracache veracache) {
    this.lifecycle = lifecycle;
    this.veracache = veracache;
  }

  /** The in-app listener, or null when it runs in the sidecar. */
  public CdcInvalidatorLifecycle inApp() {
    return lifecycle.getIfAvailable();
  }

  /** Stops the in-app listener, carrying over what it applied. */
  synchronized void stopInApp() {
    CdcInvalidatorLifecycle own = inApp();
    carriedApplied += currentApplied(own);
    own.stop();
  }

  synchronized void startInApp() {
    inApp().start();
  }

  private long currentApplied(CdcInvalidatorLifecycle own) {
    if (own == null || own.invalidator() == null) {
      return 0;
    }
    Search search = veracache.options().meterRegistry().find("veracache.cdc.events").tag("result", "applied");
    Counter counter = search.counter();
    if (counter != null) {
      return (long) counter.count();
    }
    FunctionCounter function = search.functionCounter();
    return function == null ? 0 : (long) function.count();
  }

  /**
   * How far the listener is behind by its proven progress (what {@code listener-staleness-bound} compares): the
   * client's staleness of {@code products}, null until known. Not the listener's {@code veracache.cdc.lag}, which
   * measures from the last change it saw and so grows while the shop is idle.
   */
  private Long provenLagMillis() {
    return veracache.listenerStaleness(ShopConfiguration.PRODUCTS).map(Duration::toMillis).orElse(null);
  }

  public synchronized Map<String, Object> snapshot() {
    Map<String, Object> cdc = new LinkedHashMap<>();
    CdcInvalidatorLifecycle own = inApp();
    if (own != null) {
      Map<String, Object> report = own.report();
      cdc.put("where", "in-app");
      cdc.put("running", own.isRunning());
      cdc.put("state", report.get("state"));
      cdc.put("lagMillis", own.isRunning() ? provenLagMillis() : null);
      cdc.put("applied", carriedApplied + currentApplied(own));
    } else {
      Optional<Duration> lag = veracache.listenerStaleness(ShopConfiguration.PRODUCTS);
      boolean live = lag.isPresent() && lag.get().compareTo(Duration.ofSeconds(ShopConfiguration.STALENESS_BOUND_SECONDS)) <= 0;
      cdc.put("where", "sidecar");
      cdc.put("running", live);
      cdc.put("state", lag.isEmpty() ? "UNKNOWN" : live ? "LIVE" : "BEHIND");
      cdc.put("lagMillis", provenLagMillis());
      cdc.put("applied", null);
    }
    return cdc;
  }
}
