package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(EmbeddedStackExtension.class)
class EmbeddedStackIT {

  @Test
  void mariaDbAnswersSqlWithTheBinlogSetUpForCdc(DatabaseServer db) throws SQLException {
    Map<String, String> vars = new HashMap<>();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SHOW VARIABLES WHERE Variable_name IN "
             + "('log_bin', 'binlog_format', 'binlog_row_image', 'server_id', 'version')")) {
      while (rs.next()) {
        vars.put(rs.getString(1), rs.getString(2));
      }
    }
    assertThat(vars).containsEntry("log_bin", "ON").containsEntry("binlog_format", "ROW")
        .containsEntry("binlog_row_image", "FULL").containsEntry("server_id", "1");
    assertThat(vars.get("version")).startsWith("11.4");
    assertThat(db.databaseName()).isEqualTo("veracache");
    assertThat(db.pid()).isPositive();
  }

  @Test
  void redisAnswersRoundTrips(RedisServer redis) {
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofSeconds(2))) {
      lettuce.connection.sync().set("k", "v");
      assertThat(lettuce.connection.sync().get("k")).isEqualTo("v");
    }
    redis.flushAll();
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofSeconds(2))) {
      assertThat(lettuce.connection.sync().get("k")).isNull();
    }
  }

  @Test
  void mariaDbRestartKeepsDataAndPort(DatabaseServer db) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE survives (id INT PRIMARY KEY)");
      s.execute("INSERT INTO survives VALUES (42)");
    }
    int port = db.port();
    long pidBefore = db.pid();
    db.restart();
    assertThat(db.port()).isEqualTo(port);
    assertThat(db.pid()).isNotEqualTo(pidBefore);
    assertThat(ProcessControl.alive(pidBefore)).isFalse();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT id FROM survives")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getInt(1)).isEqualTo(42);
    }
  }

  @Test
  void redisRestartsOnTheSamePortAndLosesItsData(RedisServer redis) {
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofSeconds(2))) {
      lettuce.connection.sync().set("gone", "soon");
    }
    int port = redis.port();
    redis.stop();
    assertThat(redis.isRunning()).isFalse();
    redis.start();
    assertThat(redis.port()).isEqualTo(port);
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofSeconds(2))) {
      assertThat(lettuce.connection.sync().get("gone")).isNull();
    }
  }

  @Test
  void aPausedRedisTimesClientsOutAndAnswersAgainWhenResumed(RedisServer redis) {
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofMillis(300))) {
      assertThat(lettuce.connection.sync().ping()).isEqualTo("PONG");
      redis.pause();
      try {
        assertThat(redis.isPaused()).isTrue();
        assertThatThrownBy(() -> lettuce.connection.sync().ping()).isInstanceOf(RedisCommandTimeoutException.class);
      } finally {
        redis.resume();
      }
      assertThat(lettuce.connection.sync().ping()).isEqualTo("PONG");
    }
  }

  @Test
  void aPausedMariaDbTimesClientsOutAndAnswersAgainWhenResumed(DatabaseServer db) throws SQLException {
    String url = db.jdbcUrl() + "&socketTimeout=500";
    try (Connection c = DriverManager.getConnection(url, db.user(), db.password())) {
      db.pause();
      try (Statement s = c.createStatement()) {
        assertThatThrownBy(() -> s.executeQuery("SELECT 1")).isInstanceOf(SQLException.class)
            .hasMessageContaining("Communications link failure");
      } finally {
        db.resume();
      }
    }
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
      assertThat(rs.next()).isTrue();
    }
  }

  @Test
  void theExtensionsHealingStepStartsAStoppedRedisAndResumesAPausedMariaDb(EmbeddedStack stack) throws SQLException {
    RedisServer redis = stack.redis();
    DatabaseServer db = stack.database();
    redis.stop();
    db.pause();
    assertThat(redis.isRunning()).as("Redis broken before the heal").isFalse();
    assertThat(db.isPaused()).as("MariaDB broken before the heal").isTrue();

    EmbeddedStackExtension.heal(stack); // what the extension runs before every test

    assertAnswering(redis, db);
  }

  @Test
  void theExtensionsHealingStepResumesAPausedRedisAndStartsAStoppedMariaDb(EmbeddedStack stack) throws SQLException {
    RedisServer redis = stack.redis();
    DatabaseServer db = stack.database();
    redis.pause();
    db.stop();
    assertThat(redis.isPaused()).as("Redis broken before the heal").isTrue();
    assertThat(db.isRunning()).as("MariaDB broken before the heal").isFalse();

    EmbeddedStackExtension.heal(stack);

    assertAnswering(redis, db);
  }

  /** Both servers report running and unpaused, and each answers a round trip within a short timeout. */
  private static void assertAnswering(RedisServer redis, DatabaseServer db) throws SQLException {
    assertThat(redis.isRunning()).isTrue();
    assertThat(redis.isPaused()).isFalse();
    assertThat(db.isRunning()).isTrue();
    assertThat(db.isPaused()).isFalse();
    try (Lettuce lettuce = new Lettuce(redis, Duration.ofSeconds(2))) {
      assertThat(lettuce.connection.sync().ping()).isEqualTo("PONG");
    }
    try (Connection c = DriverManager.getConnection(db.jdbcUrl() + "&socketTimeout=2000", db.user(), db.password());
         Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
      assertThat(rs.next()).isTrue();
    }
  }

  /** A Lettuce connection with a command timeout, closed with its client. */
  private static final class Lettuce implements AutoCloseable {
    final RedisClient client;
    final StatefulRedisConnection<String, String> connection;

    Lettuce(RedisServer redis, Duration timeout) {
      RedisURI uri = RedisURI.create(redis.uri());
      uri.setTimeout(timeout);
      client = RedisClient.create(uri);
      connection = client.connect();
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
