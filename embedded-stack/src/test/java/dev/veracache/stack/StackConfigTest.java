package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StackConfigTest {

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
}
