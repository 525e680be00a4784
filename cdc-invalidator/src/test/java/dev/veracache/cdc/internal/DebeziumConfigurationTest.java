package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.VeracacheOptions;
import dev.veracache.cdc.CdcOptions;
import dev.veracache.cdc.InvalidationMappings;
import io.debezium.config.Configuration;
import io.debezium.connector.mariadb.MariaDbConnectorConfig;
import io.debezium.connector.mysql.MySqlConnectorConfig;
import io.debezium.connector.mysql.MySqlConnectorConfig.MySqlSecureConnectionMode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The Debezium configuration the listener generates, checked without Docker, a database or a connector: what
 * {@link DebeziumConfiguration#of} produces for the MySQL connector (and, for contrast, MariaDB's), and that
 * the connector's own configuration class accepts it and reads it back as meant. The MySQL connector is otherwise run
 * only by {@code MySql8ContainerIT}, which needs Docker.
 */
class DebeziumConfigurationTest {

  private static final Path STATE = Path.of("/var/lib/veracache-cdc");

  private static InvalidationMappings mappings() {
    return InvalidationMappings.builder()
        .table("shop.product").namespace("product").key("{id}").version("version").add()
        .table("billing.invoice").namespace("invoice").key("{id}").add()
        .build();
  }

  private static CdcOptions.Builder mysql() {
    return CdcOptions.builder()
        .connector(CdcOptions.Connector.MYSQL)
        .database("mysql.internal", 3307, "cdc", "s3cret")
        .serverId(7001)
        .name("orders-cdc")
        .redis(VeracacheOptions.builder("redis://app:redis-pw@redis.internal:6380").build())
        .mappings(mappings())
        .stateDirectory(STATE)
        .meterRegistry(new SimpleMeterRegistry());
  }

  /** Debezium's own field validation for the MySQL connector; the problems it reports, none if valid. */
  private static List<String> mySqlProblems(Properties props) {
    List<String> problems = new ArrayList<>();
    Configuration.from(props).validateAndRecord(MySqlConnectorConfig.ALL_FIELDS, problems::add);
    return problems;
  }

  @Test
  void theMySqlConnectorGetsItsClassServerIdCaptureListsAndCredentialsAndAcceptsThem() {
    Properties props = DebeziumConfiguration.of(mysql().build());

    assertThat(props).containsEntry("connector.class", "io.debezium.connector.mysql.MySqlConnector")
        .containsEntry("name", "orders-cdc")
        .containsEntry("topic.prefix", "orders-cdc")
        .containsEntry("database.hostname", "mysql.internal")
        .containsEntry("database.port", "3307")
        .containsEntry("database.user", "cdc")
        .containsEntry("database.password", "s3cret")
        .containsEntry("database.server.id", "7001")
        .containsEntry("database.include.list", "billing,shop")
        .containsEntry("database.ssl.mode", "disabled") // MySQL's word; MariaDB's is "disable"
        .containsEntry("snapshot.mode", "no_data")
        .containsEntry("snapshot.locking.mode", "none")
        .containsEntry("include.schema.changes", "true")
        .containsEntry("skipped.operations", "none")
        .containsEntry("bigint.unsigned.handling.mode", "precise")
        .containsEntry("decimal.handling.mode", "precise")
        .containsEntry("time.precision.mode", "adaptive_time_microseconds")
        .containsEntry("binary.handling.mode", "bytes");

    assertThat(mySqlProblems(props)).as("MySqlConnectorConfig's field validation").isEmpty();
    MySqlConnectorConfig read = new MySqlConnectorConfig(Configuration.from(props));
    assertThat(read.getHostName()).isEqualTo("mysql.internal");
    assertThat(read.getPort()).isEqualTo(3307);
    assertThat(read.getUserName()).isEqualTo("cdc");
    assertThat(read.getPassword()).isEqualTo("s3cret");
    assertThat(read.getServerId()).isEqualTo(7001);
    assertThat(read.getSslMode()).isEqualTo(MySqlSecureConnectionMode.DISABLED);
    assertThat(read.getSnapshotMode().getValue()).isEqualTo("no_data");
    assertThat(read.getSnapshotLockingMode()).contains(MySqlConnectorConfig.SnapshotLockingMode.NONE);
  }

  @Test
  void databaseSslMakesTheMySqlConnectorRequireTls() {
    Properties props = DebeziumConfiguration.of(mysql().databaseSsl(true).build());

    assertThat(props).containsEntry("database.ssl.mode", "required");
    assertThat(mySqlProblems(props)).isEmpty();
    assertThat(new MySqlConnectorConfig(Configuration.from(props)).getSslMode())
        .isEqualTo(MySqlSecureConnectionMode.REQUIRED);
  }

  @Test
  void theMariaDbConnectorGetsItsOwnClassAndItsOwnWordForNoTls() {
    Properties props = DebeziumConfiguration.of(mysql().connector(CdcOptions.Connector.MARIADB).build());

    assertThat(props).containsEntry("connector.class", "io.debezium.connector.mariadb.MariaDbConnector")
        .containsEntry("database.ssl.mode", "disable");
    List<String> problems = new ArrayList<>();
    Configuration.from(props).validateAndRecord(MariaDbConnectorConfig.ALL_FIELDS, problems::add);
    assertThat(problems).as("MariaDbConnectorConfig's field validation").isEmpty();
    assertThat(new MariaDbConnectorConfig(Configuration.from(props)).isSslModeEnabled()).isFalse();
  }

  @Test
  void redisStorageIsRefusedWhenTheCachesRedisIsACluster() {
    CdcOptions.Builder onCluster = mysql().redis(VeracacheOptions.clusterBuilder(
        List.of("redis://redis-1.internal:7000", "redis://redis-2.internal:7000")).build());
    assertThat(onCluster.build().redis().isCluster()).as("FILE, the default, is fine").isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> onCluster.offsetStorage(CdcOptions.OffsetStorage.REDIS).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offsetStorage REDIS")
        .hasMessageContaining("Redis Cluster").hasMessageContaining("FILE or JDBC");
  }

  @Test
  void fileStorageKeepsOffsetsAndSchemaHistoryInTheStateDirectory() {
    Properties props = DebeziumConfiguration.of(mysql().offsetStorage(CdcOptions.OffsetStorage.FILE).build());

    assertThat(props)
        .containsEntry("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore")
        .containsEntry("offset.storage.file.filename", STATE.resolve("offsets.dat").toString())
        .containsEntry("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory")
        .containsEntry("schema.history.internal.file.filename", STATE.resolve("schema-history.dat").toString())
        .containsEntry("bootstrap.servers", "unused:9092");
    assertThat(mySqlProblems(props)).isEmpty();
  }

  @Test
  void redisStorageUsesTheCachesRedisWithItsCredentialsAndKeysNamedAfterTheListener() {
    Properties props = DebeziumConfiguration.of(mysql().offsetStorage(CdcOptions.OffsetStorage.REDIS).build());

    assertThat(props)
        .containsEntry("offset.storage", "io.debezium.storage.redis.offset.RedisOffsetBackingStore")
        .containsEntry("schema.history.internal", "io.debezium.storage.redis.history.RedisSchemaHistory")
        .containsEntry("offset.storage.redis.key", "veracache:cdc:orders-cdc:offsets")
        .containsEntry("schema.history.internal.redis.key", "veracache:cdc:orders-cdc:schema_history");
    for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
      assertThat(props).as(prefix)
          .containsEntry(prefix + "redis.address", "redis.internal:6380")
          .containsEntry(prefix + "redis.user", "app")
          .containsEntry(prefix + "redis.password", "redis-pw")
          .containsEntry(prefix + "redis.ssl.enabled", "false");
    }
    assertThat(props).doesNotContainKeys("offset.storage.file.filename", "schema.history.internal.file.filename");
    assertThat(mySqlProblems(props)).isEmpty();
  }

  @Test
  void redisStorageOverTlsWithoutAUserSendsOnlyThePassword() {
    Properties props = DebeziumConfiguration.of(mysql().offsetStorage(CdcOptions.OffsetStorage.REDIS)
        .redis(VeracacheOptions.builder("rediss://:only-pw@redis.internal:6390").build()).build());

    for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
      assertThat(props).as(prefix)
          .containsEntry(prefix + "redis.address", "redis.internal:6390")
          .containsEntry(prefix + "redis.password", "only-pw")
          .containsEntry(prefix + "redis.ssl.enabled", "true")
          .doesNotContainKey(prefix + "redis.user");
    }
  }

  @Test
  void jdbcStorageKeepsOffsetsAndSchemaHistoryInTheFirstCapturedDatabaseWithTheListenersCredentials() {
    Properties props = DebeziumConfiguration.of(mysql().offsetStorage(CdcOptions.OffsetStorage.JDBC)
        .databaseSsl(true).build());

    assertThat(props)
        .containsEntry("offset.storage", "io.debezium.storage.jdbc.offset.JdbcOffsetBackingStore")
        .containsEntry("schema.history.internal", "io.debezium.storage.jdbc.history.JdbcSchemaHistory")
        .containsEntry("offset.storage.jdbc.table.name", "veracache_cdc_offsets")
        .containsEntry("schema.history.internal.jdbc.table.name", "veracache_cdc_schema_history");
    for (String prefix : List.of("offset.storage.", "schema.history.internal.")) {
      assertThat(props).as(prefix)
          .containsEntry(prefix + "jdbc.connection.user", "cdc")
          .containsEntry(prefix + "jdbc.connection.password", "s3cret");
      assertThat(props.getProperty(prefix + "jdbc.connection.url"))
          .startsWith("jdbc:mysql://mysql.internal:3307/billing?") // "billing" sorts before "shop"
          .contains("useSSL=true");
    }
    assertThat(mySqlProblems(props)).isEmpty();
  }

  @Test
  void intervalsAndBatchSizesComeFromTheOptions() {
    Properties props = DebeziumConfiguration.of(mysql()
        .pollInterval(java.time.Duration.ofMillis(7))
        .heartbeatInterval(java.time.Duration.ofSeconds(3))
        .offsetFlushInterval(java.time.Duration.ofMillis(250))
        .maxBatchSize(4096)
        .build());

    assertThat(props).containsEntry("poll.interval.ms", "7")
        .containsEntry("heartbeat.interval.ms", "3000")
        .containsEntry("offset.flush.interval.ms", "250")
        .containsEntry("max.batch.size", "4096")
        .containsEntry("max.queue.size", "16384")
        // reconnect within a second after the database went away, not Debezium's default minute
        .containsEntry("connect.keep.alive", "true")
        .containsEntry("connect.keep.alive.interval.ms", "1000");
    assertThat(mySqlProblems(props)).isEmpty();
  }
}
