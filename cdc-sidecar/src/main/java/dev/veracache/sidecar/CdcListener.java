package dev.veracache.sidecar;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.stack.EmbeddedStack;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the {@link CdcInvalidator} for the application's lifetime: started after the context is ready, closed first on
 * shutdown (which flushes the offsets of what was applied).
 */
public class CdcListener implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(CdcListener.class);
  static final String DEMO_MAPPINGS = "/embedded-demo-mappings.yml";

  private final CdcSidecarProperties properties;
  private final EmbeddedStack stack; // null unless veracache.cdc.embedded-stack
  private final MeterRegistry registry;
  private volatile CdcInvalidator invalidator;
  private volatile boolean running;

  public CdcListener(CdcSidecarProperties properties, EmbeddedStack stack, MeterRegistry registry) {
    this.properties = properties;
    this.stack = stack;
    this.registry = registry;
  }

  @Override
  public void start() {
    CdcOptions.Builder options = CdcOptions.builder()
        .connector(properties.connector())
        .serverId(properties.serverId())
        .name(properties.name())
        .stateDirectory(properties.stateDirectory())
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
        .meterRegistry(registry);
    String redisUri;
    if (stack != null) {
      options.database(stack.database().host(), stack.database().port(), stack.database().user(),
          stack.database().password());
      redisUri = stack.redis().uri();
    } else {
      CdcSidecarProperties.Database db = properties.database();
      options.database(db.host(), db.port(), db.user(), db.password()).databaseSsl(db.ssl());
      redisUri = properties.redis().uri();
    }
    options.redis(VeracacheOptions.builder(redisUri).clientName(properties.name())
        .commandTimeout(properties.redis().commandTimeout()).meterRegistry(registry).build());
    options.mappings(mappings());
    invalidator = CdcInvalidator.start(options.build());
    running = true;
    log.info("CDC sidecar listening to {}, mappings {}", stack != null ? "the embedded stack" : properties.database(),
        properties.mappings() == null ? DEMO_MAPPINGS : properties.mappings());
  }

  private InvalidationMappings mappings() {
    if (properties.mappings() != null) {
      return InvalidationMappings.fromYaml(properties.mappings());
    }
    if (stack == null) {
      throw new IllegalArgumentException("veracache.cdc.mappings must name the YAML file of table mappings");
    }
    createDemoTable();
    try (InputStream in = CdcListener.class.getResourceAsStream(DEMO_MAPPINGS)) {
      return InvalidationMappings.fromYaml(in, DEMO_MAPPINGS);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The table the bundled demo mapping maps, in the embedded database. */
  private void createDemoTable() {
    try (Connection c = stack.database().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS product (id BIGINT PRIMARY KEY, sku VARCHAR(40) NOT NULL, "
          + "name VARCHAR(200) NOT NULL, version BIGINT NOT NULL)");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot create the demo table: " + e.getMessage(), e);
    }
  }

  @Override
  public void stop() {
    running = false;
    CdcInvalidator current = invalidator;
    if (current != null) {
      current.close();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** Stop before the web server and the meter registry. */
  @Override
  public int getPhase() {
    return Integer.MAX_VALUE - 1000;
  }

  CdcInvalidator invalidator() {
    return invalidator;
  }
}
