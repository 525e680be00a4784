package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile review of the watchdogs across restarts (setsid change 6cba44e, early watchdog c9575f0): after a restart, a
 * stop/start and a SIGKILL/start, the running server is named by exactly one watchdog and no watchdog of a former
 * process is left (one would SIGKILL whatever process reuses that pid when this JVM exits). Held on the current code.
 */
@ExtendWith(EmbeddedStackExtension.class)
class RestartWatchdogsIT {

  @Test
  void aRestartedRedisHasOneWatchdogAndItsFormerOneIsGone(RedisServer redis) {
    long before = redis.pid();
    assertThat(watchdogsOf(before)).hasSize(1);
    redis.restart();
    assertOneWatchdogFor(redis.pid(), before);
    long second = redis.pid();
    redis.stop();
    redis.start();
    assertOneWatchdogFor(redis.pid(), second);
  }

  @Test
  void aKafkaBrokerKilledAndStartedAgainHasOneWatchdogAndItsFormerOneIsGone(KafkaServer kafka) {
    long before = kafka.pid();
    assertThat(watchdogsOf(before)).hasSize(1);
    kafka.kill();
    kafka.start();
    assertOneWatchdogFor(kafka.pid(), before);
  }

  private static void assertOneWatchdogFor(long pid, long former) {
    assertThat(pid).isNotEqualTo(former);
    assertThat(watchdogsOf(pid)).as("watchdogs of the running server %s", pid).hasSize(1);
    for (ProcessHandle old : watchdogsOf(former)) {
      assertThat(ProcessControl.awaitExit(old.pid(), Duration.ofSeconds(10)))
          .as("the watchdog %s of the former process %s is gone", old.pid(), former).isTrue();
    }
  }

  /**
   * This JVM's watchdogs (sh -c '... kill -9 <pid>') that name {@code pid}; not their own forks (a command
   * substitution, a {@code sleep} before its exec), which carry the same command line for a moment.
   */
  private static List<ProcessHandle> watchdogsOf(long pid) {
    return ProcessHandle.current().descendants().filter(p -> names(p, pid))
        .filter(p -> p.parent().filter(parent -> names(parent, pid)).isEmpty()).toList();
  }

  private static boolean names(ProcessHandle process, long pid) {
    return ProcessControl.commandLine(process.pid()).filter(c -> c.endsWith("kill -9 " + pid + " 2>/dev/null"))
        .isPresent();
  }
}
