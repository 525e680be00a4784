package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/** What a newcomer to the demo stack needs without reading its code: a ready client command, and which servers run. */
@ExtendWith(EmbeddedStackExtension.class)
class NewcomerStackIT {

  @Test
  void theClientCommandRunsTheBundledMariadbClientAgainstTheEmbeddedServer(DatabaseServer db) throws Exception {
    List<String> command = db.clientCommand();
    assertThat(Path.of(command.get(0))).as("the bundled client").isAbsolute().isExecutable();
    assertThat(command).contains("--host=127.0.0.1", "--port=" + db.port(), "--user=root", "--skip-ssl",
        db.databaseName());

    Process client = db.clientProcess("--batch", "--skip-column-names", "-e", "SELECT 1 + 1, DATABASE()")
        .redirectErrorStream(true).start();
    String output = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(client.waitFor(60, TimeUnit.SECONDS)).as("client exited").isTrue();
    assertThat(client.exitValue()).as("exit status; output: " + output).isZero();
    assertThat(output.strip()).isEqualTo("2\t" + db.databaseName());
  }

  @Test
  void theClientProcessPassesThePasswordInTheEnvironmentNeverInTheArgv() throws IOException {
    StackConfig config = StackConfig.builder()
        .externalDatabase("jdbc:mysql://db.example:3307/shop", "app", "s3cret-db").build();
    DatabaseServer external = new ExternalDatabaseServer(config);
    ProcessBuilder builder = external.clientProcess("-e", "SELECT 1");
    assertThat(builder.command()).containsExactly("mariadb", "--host=db.example", "--port=3307", "--user=app",
        "shop", "-e", "SELECT 1");
    assertThat(String.join(" ", builder.command())).doesNotContain("s3cret-db");
    assertThat(builder.environment()).containsEntry("MYSQL_PWD", "s3cret-db");
  }

  @Test
  void startSaysInOneInfoLineThatTheEnvironmentChoseExternalServersAndNeverShowsAPassword(DatabaseServer db,
      RedisServer redis) {
    Logger stackLog = (Logger) LoggerFactory.getLogger(EmbeddedStack.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    stackLog.addAppender(logs);
    System.setProperty("veracache.db.url", "jdbc:mysql://127.0.0.1:" + db.port() + "/" + db.databaseName());
    System.setProperty("veracache.db.user", "root");
    System.setProperty("veracache.db.password", "s3cret-db");
    System.setProperty("veracache.redis.uri", "redis://:s3cret-redis@127.0.0.1:" + redis.port());
    try (EmbeddedStack stack = EmbeddedStack.start()) {
      assertThat(stack.database().controllable()).isFalse();
      assertThat(stack.redis().controllable()).isFalse();
    } finally {
      System.clearProperty("veracache.db.url");
      System.clearProperty("veracache.db.user");
      System.clearProperty("veracache.db.password");
      System.clearProperty("veracache.redis.uri");
      stackLog.detachAppender(logs);
    }
    List<String> info = logs.list.stream().filter(e -> e.getLevel() == Level.INFO)
        .map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(info).hasSize(1);
    assertThat(info.get(0))
        .contains("external database at 127.0.0.1:" + db.port(), "VERACACHE_DB_URL", "user root")
        .contains("external Redis at 127.0.0.1:" + redis.port(), "VERACACHE_REDIS_URI", "with a password")
        .doesNotContain("s3cret");
  }
}
