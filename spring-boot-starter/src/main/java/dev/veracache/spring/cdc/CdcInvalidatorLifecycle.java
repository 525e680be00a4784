package dev.veracache.spring.cdc;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the {@link CdcInvalidator} for the application's lifetime: started with the context (after the web server),
 * closed first on shutdown (which flushes the offsets of what was applied).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The listener closes first.</b> Its phase is above the web server's graceful shutdown and the meter
 *       registry; beans it talks to (an application's own servers, {@link CdcConnectionDetails}) are destroyed only
 *       after every lifecycle stopped: nothing it talks to is stopped while it runs.</li>
 *   <li><b>An early stop is quiet.</b> A stop before the listener is live (SIGTERM during start) closes it with one
 *       INFO line; nothing it was waiting for is reported as an error.</li>
 *   <li><b>Configuration errors are readable.</b> A mapping that does not fit the database or a setting
 *       {@link CdcOptions} refuses surfaces as a {@link CdcConfigurationException} naming the mappings' source, the
 *       table or the setting.</li>
 *   <li><b>No secrets in logs.</b> The Redis URI is logged without credentials, the database password never.</li>
 * </ul>
 */
public class CdcInvalidatorLifecycle implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidatorLifecycle.class);

  /** Stops before the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}) and the meter registry. */
  public static final int PHASE = Integer.MAX_VALUE - 1000;

  private final CdcProperties properties;
  private final CdcConnectionDetails connection;
  private final CdcMappings mappings;
  private final MeterRegistry registry;
  private final List<CdcLifecycleCallbacks> callbacks;
  private volatile CdcInvalidator invalidator;
  private volatile boolean running;

  public CdcInvalidatorLifecycle(CdcProperties properties, CdcConnectionDetails connection, CdcMappings mappings,
      MeterRegistry registry, List<CdcLifecycleCallbacks> callbacks) {
    this.properties = properties;
    this.connection = connection;
    this.mappings = mappings;
    this.registry = registry;
    this.callbacks = callbacks == null ? List.of() : List.copyOf(callbacks);
  }

  @Override
  public void start() {
    callbacks.forEach(CdcLifecycleCallbacks::starting);
    CdcOptions built;
    try {
      CdcOptions.Builder builder = CdcOptions.builder();
      if (properties.kafka().enabled()) {
        builder.kafka(properties.kafka().toSource());
      }
      built = builder
          .connector(properties.connector())
          .serverId(properties.serverId())
          .name(properties.name())
          .stateDirectory(connection.stateDirectory())
          .purgedPositionPolicy(properties.purgedPositionPolicy())
          .offsetStorage(properties.offsetStorage())
          .pollInterval(properties.pollInterval())
          .heartbeatInterval(properties.heartbeatInterval())
          .firstStart(properties.firstStart())
          .stallThreshold(properties.stallThreshold())
          .wholeTableChangePolicy(properties.wholeTableChangePolicy())
          .progressInterval(properties.progressInterval())
          .redisDataLossPolicy(properties.redisDataLossPolicy())
          .redisDurability(properties.redisDurability().replicas(), properties.redisDurability().appendOnlyFile(),
              properties.redisDurability().timeout())
          .meterRegistry(registry)
          .database(connection.databaseHost(), connection.databasePort(), connection.databaseUser(),
              connection.databasePassword())
          .databaseSsl(connection.databaseSsl())
          .redis((connection.redisClusterNodes().isEmpty() ? VeracacheOptions.builder(connection.redisUri())
              : VeracacheOptions.clusterBuilder(connection.redisClusterNodes())).clientName(properties.name())
              .commandTimeout(properties.redis().commandTimeout()).meterRegistry(registry).build())
          .mappings(mappings.mappings())
          .build();
    } catch (IllegalArgumentException e) {
      throw new CdcConfigurationException("A " + CdcProperties.PREFIX + " setting is not valid: " + e.getMessage(),
          "Fix that setting (application.yml, --" + CdcProperties.PREFIX + ".* or VERACACHE_CDC_*) and start again.",
          e);
    }
    try {
      invalidator = CdcInvalidator.start(built);
    } catch (IllegalArgumentException e) { // the mapping does not fit the database (no such table or column, types)
      if (built.kafka() != null) { // no database is read in Kafka mode: a Redis or Kafka setting was refused
        throw new CdcConfigurationException("The CDC listener refused its settings: " + e.getMessage(),
            "Fix that setting (application.yml, --" + CdcProperties.PREFIX + ".* or VERACACHE_CDC_*) and start again.",
            e);
      }
      throw new CdcConfigurationException("The mappings of " + mappings.source() + " do not fit the database at "
          + connection + ": " + e.getMessage(), connection.whenMappingsDoNotFit(), e);
    }
    running = true;
    if (built.kafka() != null) {
      log.info("CDC listener {} reading {}, mappings {}, invalidating {}", properties.name(), built.kafka(),
          mappings.source(), connection.describeRedis());
    } else {
      log.info("CDC listener {} reading {}, mappings {}, invalidating {}, state in {}", properties.name(), connection,
          mappings.source(), connection.describeRedis(), connection.stateDirectory());
    }
  }

  @Override
  public void stop() {
    running = false;
    callbacks.forEach(CdcLifecycleCallbacks::stopping);
    CdcInvalidator current = invalidator;
    if (current == null) {
      return;
    }
    if (!current.isLive()) {
      log.info("stopping before the listener {} was live ({})", properties.name(), current.status().detail());
    }
    current.close();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public boolean isAutoStartup() {
    return properties == null || properties.autoStartup();
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  /** The running (or closed) listener; null before the first {@link #start()}. */
  /**
   * For the {@code veracache} endpoint: the listener's state and reason, how far it is behind the last commit it saw
   * ({@code veracache.cdc.lag}), and the invalidations it has not applied yet ({@code veracache.cdc.backlog}).
   */
  public java.util.Map<String, Object> report() {
    java.util.Map<String, Object> report = new java.util.LinkedHashMap<>();
    report.put("listener", properties.name());
    CdcInvalidator cdc = invalidator;
    if (cdc == null) {
      report.put("state", "NOT_STARTED");
      return report;
    }
    CdcInvalidator.Status status = cdc.status();
    report.put("state", status.state().name());
    report.put("detail", status.detail());
    for (String[] gauge : new String[][] {{"lagMillis", "veracache.cdc.lag"}, {"backlog", "veracache.cdc.backlog"},
        {"oldestUnappliedAgeMillis", "veracache.cdc.oldest.unapplied.age"}}) {
      io.micrometer.core.instrument.Gauge found =
          registry.find(gauge[1]).tag("listener", properties.name()).gauge();
      if (found != null) {
        report.put(gauge[0], (long) found.value());
      }
    }
    return report;
  }

  public CdcInvalidator invalidator() {
    return invalidator;
  }
}
