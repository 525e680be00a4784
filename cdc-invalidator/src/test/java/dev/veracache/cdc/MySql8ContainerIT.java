package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.VeracacheOptions;
import dev.veracache.stack.EmbeddedStackExtension;
import dev.veracache.stack.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.mysql.MySQLContainer;

/**
 * The MySQL connector against a real MySQL 8 (Testcontainers). Runs only where Docker exists and is skipped cleanly
 * elsewhere (these machines have none); the same behaviour is tested on the embedded MariaDB by CdcInvalidatorIT.
 */
@Testcontainers(disabledWithoutDocker = true)
@ExtendWith(EmbeddedStackExtension.class)
class MySql8ContainerIT {

  @Container
  private static final MySQLContainer MYSQL = new MySQLContainer("mysql:8.4")
      .withDatabaseName("shop").withUsername("root").withPassword("test")
      .withCommand("--server-id=1", "--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-image=FULL");

  @Test
  void anUpdateInMySql8InvalidatesTheMappedKeys(RedisServer redis) throws Exception {
    try (Connection c = DriverManager.getConnection(MYSQL.getJdbcUrl(), "root", "test");
         Statement s = c.createStatement()) {
      s.execute("CREATE TABLE product (id BIGINT PRIMARY KEY, sku VARCHAR(40), version BIGINT NOT NULL)");
      s.execute("INSERT INTO product VALUES (1, 'S1', 1)");
    }
    CdcInvalidator cdc = CdcInvalidator.start(CdcOptions.builder()
        .connector(CdcOptions.Connector.MYSQL)
        .database(MYSQL.getHost(), MYSQL.getMappedPort(3306), "root", "test")
        .serverId(7001).name("mysql8-test")
        .redis(VeracacheOptions.builder(redis.uri()).build())
        .mappings(InvalidationMappings.builder().table("shop.product").namespace("mysqlp").key("{id}")
            .key("sku:{sku:asis}").version("version").add().build()) // utf8mb4_0900_ai_ci: the stored spelling
        .stateDirectory(Files.createTempDirectory("cdc-mysql8"))
        .meterRegistry(new SimpleMeterRegistry())
        .build());
    RedisClient client = RedisClient.create(redis.uri());
    try (cdc; StatefulRedisConnection<String, String> cli = client.connect()) {
      assertThat(cdc.awaitLive(Duration.ofSeconds(60))).isTrue();
      try (Connection c = DriverManager.getConnection(MYSQL.getJdbcUrl(), "root", "test");
           Statement s = c.createStatement()) {
        s.execute("UPDATE product SET sku = 'S2', version = 2 WHERE id = 1");
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> String.valueOf(cli.sync().get("mysqlp:1")).matches("[PD]:2:.*")
          && String.valueOf(cli.sync().get("mysqlp:sku:S1")).matches("[PD]:2:.*")
          && String.valueOf(cli.sync().get("mysqlp:sku:S2")).matches("[PD]:2:.*"));
    } finally {
      client.shutdown();
    }
  }
}
