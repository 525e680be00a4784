package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Files;
import java.time.Duration;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link RedisSnapshot} against the real embedded Redis: a restart brings back the data of the snapshot (values
 * changed or written since are lost, values deleted since reappear), and once the snapshot is closed a restart starts
 * empty again, as every other scenario expects.
 */
@ExtendWith(EmbeddedStackExtension.class)
class RedisSnapshotIT {

  @Test
  void aRestartLoadsTheOlderSnapshotAndAfterCloseARestartIsEmptyAgain(EmbeddedStack stack) {
    run(stack, r -> {
      r.set("snap:changed", "old");
      r.set("snap:deleted", "old");
    });
    RedisSnapshot snapshot = RedisSnapshot.take(stack.redis(), "snap:");
    try {
      assertThat(snapshot.keysAtSave()).isEqualTo(2);
      assertThat(Files.isRegularFile(snapshot.file())).isTrue();
      run(stack, r -> {
        r.set("snap:changed", "new");
        r.del("snap:deleted");
        r.set("snap:added", "new");
      });

      snapshot.restartFromSnapshot();

      run(stack, r -> {
        assertThat(r.get("snap:changed")).as("a change made after the snapshot").isEqualTo("old");
        assertThat(r.get("snap:deleted")).as("a key deleted after the snapshot").isEqualTo("old");
        assertThat(r.get("snap:added")).as("a key written after the snapshot").isNull();
      });
      assertThat(snapshot.keysRestored()).isEqualTo(2);
    } finally {
      snapshot.close();
    }
    assertThat(Files.exists(snapshot.file())).as("snapshot file after close").isFalse();
    assertThatThrownBy(snapshot::restartFromSnapshot).hasMessageContaining(snapshot.file().toString());

    stack.redis().restart();
    run(stack, r -> assertThat(r.dbsize()).as("keys after a restart once the snapshot is closed").isZero());
  }

  private static void run(EmbeddedStack stack, Consumer<RedisCommands<String, String>> commands) {
    RedisClient client = RedisClient.create(stack.redis().uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      commands.accept(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
  }
}
