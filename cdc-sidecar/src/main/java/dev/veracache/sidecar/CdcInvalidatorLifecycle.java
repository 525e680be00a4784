package dev.veracache.sidecar;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcInvalidator;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.support.EncodedResource;
import org.springframework.jdbc.datasource.init.ScriptException;
import org.springframework.jdbc.datasource.init.ScriptUtils;

/**
 * Runs the {@link CdcInvalidator} for the application's lifetime: started after the context is ready, closed first on
 * shutdown (which flushes the offsets of what was applied).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>The listener closes first.</b> Its phase is above the web server's graceful shutdown, and the demo servers
 *       ({@link DemoServers}) are beans, destroyed only after every lifecycle stopped: nothing it talks to is stopped
 *       while it runs.</li>
 *   <li><b>An early stop is quiet.</b> A stop before the listener is live (SIGTERM during start) closes it with one
 *       INFO line; nothing it was waiting for is reported as an error.</li>
 *   <li><b>Demo state is the demo's.</b> In demo mode offsets and schema history live in the demo servers' temporary
 *       directory, new at each start and deleted with the servers: a demo never reads an earlier demo's position.</li>
 *   <li><b>Configuration errors are readable.</b> A mapping that does not fit the database, a demo schema that fails, or
 *       a bad setting surfaces as a {@link SidecarConfigurationException} naming the file, table or setting.</li>
 * </ul>
 */
public class CdcInvalidatorLifecycle implements SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(CdcInvalidatorLifecycle.class);
  static final String DEMO_MAPPINGS = "/embedded-demo-mappings.yml";
  /** The default of veracache.cdc.state-directory (application.yml and {@link CdcSidecarProperties}). */
  private static final Path DEFAULT_STATE_DIRECTORY = Path.of("cdc-state");

  private final CdcSidecarProperties properties;
  private final DemoServers demo; // null unless veracache.cdc.embedded-stack
  private final io.micrometer.core.instrument.MeterRegistry registry;
  private volatile CdcInvalidator invalidator;
  private volatile boolean running;

  public CdcInvalidatorLifecycle(CdcSidecarProperties properties, DemoServers demo,
      io.micrometer.core.instrument.MeterRegistry registry) {
    this.properties = properties;
    this.demo = demo;
    this.registry = registry;
  }

  @Override
  public void start() {
    ShutdownInterruptFilter.running();
    Path stateDirectory = stateDirectory();
    CdcOptions.Builder options = CdcOptions.builder()
        .connector(properties.connector())
        .serverId(properties.serverId())
        .name(properties.name())
        .stateDirectory(stateDirectory)
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
    String where;
    if (demo != null) {
      options.database(demo.databaseHost(), demo.databasePort(), demo.databaseUser(), demo.databasePassword());
      redisUri = demo.redisUri();
      where = demo.toString();
    } else {
      CdcSidecarProperties.Database db = properties.database();
      options.database(db.host(), db.port(), db.user(), db.password()).databaseSsl(db.ssl());
      redisUri = properties.redis().uri();
      where = db.host() + ":" + db.port();
    }
    options.redis(VeracacheOptions.builder(redisUri).clientName(properties.name())
        .commandTimeout(properties.redis().commandTimeout()).meterRegistry(registry).build());
    options.mappings(mappings());
    CdcOptions built;
    try {
      built = options.build();
    } catch (IllegalArgumentException e) {
      throw new SidecarConfigurationException("A veracache.cdc setting is not valid: " + e.getMessage(),
          "Fix that setting (application.yml, --veracache.cdc.* or VERACACHE_CDC_*) and start again.", e);
    }
    try {
      invalidator = CdcInvalidator.start(built);
    } catch (IllegalArgumentException e) { // the mapping does not fit the database (no such table or column, types)
      throw new SidecarConfigurationException("The mappings of " + mappingSource() + " do not fit the database at "
          + where + ": " + e.getMessage(), demo != null
          ? "In demo mode, create the tables your mappings name with a SQL file given in "
              + SidecarConfigurationCheck.DEMO_SCHEMA + " (VERACACHE_CDC_DEMOSCHEMA), or fix the mapping file."
          : "Fix the mapping file, or the table, and start again.", e);
    }
    running = true;
    log.info("CDC sidecar listening to {}, mappings {}, state in {}", where, mappingSource(), stateDirectory);
  }

  private Path stateDirectory() {
    if (demo == null) {
      return properties.stateDirectory();
    }
    if (!DEFAULT_STATE_DIRECTORY.equals(properties.stateDirectory().normalize())) {
      log.warn("veracache.cdc.state-directory ({}) is not used in demo mode: each demo starts a new database, so its "
          + "state lives in {} and is deleted at exit", properties.stateDirectory(), demo.stateDirectory());
    }
    return demo.stateDirectory();
  }

  private String mappingSource() {
    return properties.mappings() == null ? "the bundled demo mapping " + DEMO_MAPPINGS
        : properties.mappings().toString();
  }

  private InvalidationMappings mappings() {
    if (demo != null) {
      if (properties.mappings() == null) {
        createDemoTable();
      }
      if (properties.demoSchema() != null) {
        runDemoSchema(properties.demoSchema());
      }
    }
    if (properties.mappings() != null) {
      return MappingFiles.load(properties.mappings());
    }
    if (demo == null) { // SidecarConfigurationCheck refuses this first; kept for contexts built without it
      throw new SidecarConfigurationException("No mapping file: veracache.cdc.mappings is not set.",
          "Set veracache.cdc.mappings to the YAML file of table mappings.");
    }
    try (InputStream in = CdcInvalidatorLifecycle.class.getResourceAsStream(DEMO_MAPPINGS)) {
      return InvalidationMappings.fromYaml(in, DEMO_MAPPINGS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the bundled " + DEMO_MAPPINGS + ": " + e.getMessage(), e);
    }
  }

  /** The table the bundled demo mapping maps, in the demo database. */
  private void createDemoTable() {
    try (Connection c = demo.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS product (id BIGINT PRIMARY KEY, sku VARCHAR(40) NOT NULL, "
          + "name VARCHAR(200) NOT NULL, version BIGINT NOT NULL)");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the demo table veracache.product: " + e.getMessage(), e);
    }
  }

  /** Runs the SQL file of {@code veracache.cdc.demo-schema} against the demo database, before the mapping is checked. */
  private void runDemoSchema(Path file) {
    try (Connection c = demo.connect()) {
      ScriptUtils.executeSqlScript(c, new EncodedResource(new FileSystemResource(file), StandardCharsets.UTF_8));
    } catch (ScriptException | SQLException e) {
      throw new SidecarConfigurationException("The demo schema " + file + " (" + SidecarConfigurationCheck.DEMO_SCHEMA
          + ") failed against the demo database: " + e.getMessage(),
          "Fix the SQL file (MariaDB 11.4 syntax, statements separated by ';') and start again.", e);
    }
    log.info("demo database: ran {} ({})", file, SidecarConfigurationCheck.DEMO_SCHEMA);
  }

  @Override
  public void stop() {
    running = false;
    ShutdownInterruptFilter.stopping();
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

  /** Stop before the web server and the meter registry. */
  @Override
  public int getPhase() {
    return Integer.MAX_VALUE - 1000;
  }

  CdcInvalidator invalidator() {
    return invalidator;
  }
}
