package dev.veracache.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.veracache.spring.cdc.CdcFailureAnalyzer;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Demo mode with a custom mapping: the SQL file of {@code veracache.cdc.demo-schema} creates its tables in the demo
 * database before the mapping is checked; without it the failure names the table and the setting to use.
 */
class DemoModeCustomSchemaIT {

  @TempDir Path dir;

  @Test
  void aCustomMappingInDemoModeFindsTheTablesOfTheGivenSchemaFileAndGoesLive() throws Exception {
    Path mappings = Files.writeString(dir.resolve("shop-mappings.yml"), """
        tables:
          - table: shop.orders
            namespace: order
            keys: ["{id}"]
            version: version
        """);
    Path schema = Files.writeString(dir.resolve("shop.sql"), """
        -- the tables of shop-mappings.yml
        CREATE DATABASE IF NOT EXISTS shop;
        CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, version BIGINT NOT NULL);
        """);
    ConfigurableApplicationContext app = SpringApplication.run(CdcSidecarApplication.class, "--server.port=0",
        "--veracache.cdc.embedded-stack=true", "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.demo-schema=" + schema, "--veracache.cdc.server-id=6011", "--veracache.cdc.name=demo-schema");
    Path state;
    try {
      CdcInvalidatorLifecycle listener = app.getBean(CdcInvalidatorLifecycle.class);
      assertThat(listener.invalidator().awaitLive(Duration.ofSeconds(60))).as("live").isTrue();
      DemoServers demo = app.getBean(DemoServers.class);
      state = demo.stateDirectory();
      assertThat(state).as("demo state in the stack's temporary directory").exists()
          .startsWith(Path.of(System.getProperty("java.io.tmpdir")));
      try (Connection c = demo.connect(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM shop.orders")) {
        assertThat(rs.next()).isTrue();
      }
    } finally {
      app.close();
    }
    assertThat(state).as("demo state deleted at exit").doesNotExist();
    assertThat(Path.of("cdc-state")).as("nothing written to the working directory").doesNotExist();
  }

  @Test
  void aCustomMappingInDemoModeWithoutItsTableNamesTheTableAndTheSchemaSetting() throws Exception {
    Path mappings = Files.writeString(dir.resolve("missing-mappings.yml"), """
        tables:
          - table: veracache.invoice
            namespace: invoice
            keys: ["{id}"]
        """);
    Throwable failure = catchThrowable(() -> SpringApplication.run(CdcSidecarApplication.class, "--server.port=0",
        "--veracache.cdc.embedded-stack=true", "--veracache.cdc.mappings=" + mappings,
        "--veracache.cdc.server-id=6012", "--veracache.cdc.name=demo-missing"));
    FailureAnalysis analysis = new CdcFailureAnalyzer().analyze(failure);
    assertThat(analysis).as("analysed by CdcFailureAnalyzer: %s", failure).isNotNull();
    assertThat(analysis.getDescription()).contains(mappings.toString())
        .contains("table veracache.invoice: no such table in the database");
    assertThat(analysis.getAction()).contains("veracache.cdc.demo-schema");
  }
}
