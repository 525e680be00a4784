package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StackConfigIT {

  @Test
  void externalUrlsMakeExternalServersWhoseControlsRefuse() {
    StackConfig config = StackConfig.builder()
        .externalDatabase("jdbc:mysql://db.example:3307/shop?useSSL=true", "app", "pw")
        .externalRedis("redis://:secret@cache.example:6380")
        .build();
    try (EmbeddedStack stack = EmbeddedStack.start(config)) {
      DatabaseServer db = stack.database();
      assertThat(db.controllable()).isFalse();
      assertThat(db.host()).isEqualTo("db.example");
      assertThat(db.port()).isEqualTo(3307);
      assertThat(db.databaseName()).isEqualTo("shop");
      assertThat(db.user()).isEqualTo("app");
      assertThat(db.pid()).isEqualTo(-1);
      assertThatThrownBy(db::stop).isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("db.example:3307").hasMessageContaining("external");
      RedisServer redis = stack.redis();
      assertThat(redis.controllable()).isFalse();
      assertThat(redis.port()).isEqualTo(6380);
      assertThat(redis.uri()).isEqualTo("redis://:secret@cache.example:6380");
      assertThatThrownBy(redis::pause).isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("cache.example:6380").hasMessageNotContaining("secret");
    }
  }

  @Test
  void aBadDatabaseUrlIsNamed() {
    assertThatThrownBy(() -> StackConfig.builder().externalDatabase("postgres://x/y", "u", "p").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_DB_URL").hasMessageContaining("postgres://x/y");
  }

  @Test
  void aBadRedisUriIsNamedWithoutItsPassword() {
    assertThatThrownBy(() -> StackConfig.builder().externalRedis("http://:hunter2@host:1").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_REDIS_URI").hasMessageContaining("http")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void aBadKafkaBootstrapIsNamedAndAGoodOneGivesTheFirstHostAndPort() {
    assertThatThrownBy(() -> StackConfig.builder().externalKafka("broker1:9092,broker2").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_KAFKA_BOOTSTRAP").hasMessageContaining("'broker2'")
        .hasMessageContaining("broker1:9092,broker2");
    assertThatThrownBy(() -> StackConfig.builder().externalKafka("kafka://broker:9092").build())
        .hasMessageContaining("VERACACHE_KAFKA_BOOTSTRAP").hasMessageContaining("kafka://broker:9092");
    StackConfig config = StackConfig.builder().externalKafka("broker1:9093, broker2:9092").build();
    assertThat(config.externalKafka()).isTrue();
    assertThat(config.kafkaHost).isEqualTo("broker1");
    assertThat(config.kafkaPort).isEqualTo(9093);
    assertThat(StackConfig.embedded().externalKafka()).isFalse();
  }

  @Test
  void systemPropertiesChooseExternalServers() {
    System.setProperty("veracache.redis.uri", "redis://other:7000");
    try {
      StackConfig config = StackConfig.fromEnvironment();
      assertThat(config.externalRedis()).isTrue();
      assertThat(config.externalDatabase()).isEqualTo(System.getenv("VERACACHE_DB_URL") != null);
    } finally {
      System.clearProperty("veracache.redis.uri");
    }
  }

  @Test
  void aRedisBinaryKeepsRedisEmbeddedAndIsChosenBySystemProperty(@TempDir Path dir) throws Exception {
    Path binary = Files.createFile(dir.resolve("redis-server"));
    assertThat(binary.toFile().setExecutable(true)).isTrue();
    System.setProperty("veracache.redis.binary", binary.toString());
    try {
      StackConfig config = StackConfig.fromEnvironment();
      assertThat(config.redisBinary()).contains(binary);
      assertThat(config.externalRedis()).isEqualTo(System.getenv("VERACACHE_REDIS_URI") != null);
    } finally {
      System.clearProperty("veracache.redis.binary");
    }
    assertThat(StackConfig.embedded().redisBinary()).isEmpty();
  }

  @Test
  void aMissingOrNonExecutableRedisBinaryIsNamed(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("no-such-redis");
    assertThatThrownBy(() -> StackConfig.builder().redisBinary(missing).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_REDIS_BINARY").hasMessageContaining(missing.toString())
        .hasMessageContaining("no such file");
    Path notExecutable = Files.createFile(dir.resolve("redis-server"));
    assertThatThrownBy(() -> StackConfig.builder().redisBinary(notExecutable).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_REDIS_BINARY").hasMessageContaining("not an executable file")
        .hasMessageContaining(notExecutable.toString());
  }

  @Test
  void aRedisBinaryAndAnExternalRedisTogetherAreRefusedWithoutThePassword(@TempDir Path dir) throws Exception {
    Path binary = Files.createFile(dir.resolve("redis-server"));
    assertThat(binary.toFile().setExecutable(true)).isTrue();
    assertThatThrownBy(() -> StackConfig.builder().redisBinary(binary).externalRedis("redis://:hunter2@h:1").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("VERACACHE_REDIS_BINARY").hasMessageContaining("VERACACHE_REDIS_URI")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void redisVersionsCompareByMajorAndMinor() {
    assertThat(RedisVersions.atLeast("7.0.15", 6, 0)).isTrue();
    assertThat(RedisVersions.atLeast("6.2.11", 6, 0)).isTrue();
    assertThat(RedisVersions.atLeast("6.2.11", 7, 0)).isFalse();
    assertThat(RedisVersions.atLeast("5.0.14", 6, 0)).isFalse();
    assertThat(RedisVersions.atLeast("10.0.0", 6, 2)).isTrue();
    assertThatThrownBy(() -> RedisVersions.atLeast("unstable", 6, 0)).hasMessageContaining("'unstable'");
  }
}
