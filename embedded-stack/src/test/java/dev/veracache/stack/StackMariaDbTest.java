package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** MariaDB's log lines keep the level the server gave them: a routine warning is not an ERROR. */
class StackMariaDbTest {

  @Test
  void anAbortedConnectionWarningIsAWarningNotAnError() {
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 42 [Warning] Aborted connection 42 to db: 'veracache' "
        + "user: 'root' host: 'localhost' (Got an error reading communication packets)")).isEqualTo(Level.WARN);
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 0 [ERROR] Aborting")).isEqualTo(Level.ERROR);
    assertThat(StackMariaDb.levelOf("2026-11-30  1:52:12 0 [Note] Server socket created on IP: '127.0.0.1'."))
        .isEqualTo(Level.DEBUG);
    assertThat(StackMariaDb.levelOf("Installing MariaDB/MySQL system tables in '/tmp/x/data' ..."))
        .isEqualTo(Level.INFO);
  }
}
