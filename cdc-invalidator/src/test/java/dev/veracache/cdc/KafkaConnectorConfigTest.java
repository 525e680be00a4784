package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The connector configuration Kafka mode needs, built without a server. */
class KafkaConnectorConfigTest {

  private static KafkaConnectorConfig.Builder shop() {
    return KafkaConnectorConfig.builder("shop", "shop").database("db", 3306, "cdc", "secret").serverId(5401)
        .databases("shop", "billing").kafkaSchemaHistory("kafka:9092", "shop-history");
  }

  @Test
  void carriesEverySettingTheMappingOfEventsDependsOnAndTheConnection() {
    Map<String, String> config = shop().connector(CdcOptions.Connector.MYSQL).build();
    assertThat(config).containsAllEntriesOf(KafkaSource.CONNECTOR_SETTINGS)
        .containsEntry("name", "shop")
        .containsEntry("connector.class", "io.debezium.connector.mysql.MySqlConnector")
        .containsEntry("database.ssl.mode", CdcOptions.Connector.MYSQL.sslDisabled())
        .containsEntry("database.include.list", "shop,billing")
        .containsEntry("database.server.id", "5401")
        .containsEntry("topic.prefix", "shop")
        .containsEntry("snapshot.mode", "no_data")
        .containsEntry("poll.interval.ms", "5")
        .containsEntry("schema.history.internal.kafka.topic", "shop-history")
        .containsEntry("topic.creation.default.partitions", "6");
    assertThat(shop().ssl(true).fileSchemaHistory(Path.of("/var/h.dat")).build())
        .containsEntry("database.ssl.mode", "required")
        .containsEntry("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory")
        .doesNotContainKey("schema.history.internal.kafka.topic");
  }

  @Test
  void aMissingSettingIsRefusedNamingIt() {
    assertThatThrownBy(() -> KafkaConnectorConfig.builder("shop", "shop").serverId(1).databases("shop")
        .kafkaSchemaHistory("k:9092", "h").build()).hasMessageContaining("database(host, port, user, password)");
    assertThatThrownBy(() -> shop().databases()).hasMessageContaining("databases");
    assertThatThrownBy(() -> KafkaConnectorConfig.builder("shop", "shop").database("db", 3306, "u", "")
        .databases("shop").kafkaSchemaHistory("k:9092", "h").build()).hasMessageContaining("serverId");
    assertThatThrownBy(() -> KafkaConnectorConfig.builder("shop", "shop").database("db", 3306, "u", "").serverId(2)
        .databases("shop").build()).hasMessageContaining("SchemaHistory");
    assertThatThrownBy(() -> shop().database("db", 0, "u", "")).hasMessageContaining("port");
    assertThatThrownBy(() -> KafkaConnectorConfig.builder(" ", "shop")).hasMessageContaining("name");
  }
}
