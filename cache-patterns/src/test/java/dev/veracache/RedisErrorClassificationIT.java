package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisLink;
import io.lettuce.core.ScriptOutputType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link RedisLink} classifies the errors Redis answers into metric reasons and breaker kinds, on whichever Redis the
 * build runs (the bundled 6.2 and, where installed, Debian's 7.0). The two versions word an error raised inside a
 * script differently: 6.2 wraps it ({@code ERR Error running script (call to f_...): @user_script:1: @user_script: 1:
 * -OOM ...}), 7.0 answers the original code ({@code OOM ... script: ..., on @user_script:1.}). Each test states which
 * wording the running server produced, so a new Redis that words it a third way fails here first.
 */
class RedisErrorClassificationIT extends RealServersTest {

  private static final String WRITE_SCRIPT = "return redis.call('SET', KEYS[1], ARGV[1])";
  private static final byte[] VALUE = "x".getBytes(StandardCharsets.UTF_8);

  private RedisLink link;
  private boolean redis7OrNewer;

  @BeforeEach
  void connect() {
    link = new RedisLink(VeracacheOptions.builder(redisServer.uri()).meterRegistry(new SimpleMeterRegistry())
        .clientName("classification").build());
    closeLater(link);
    redis7OrNewer = Integer.parseInt(redisServer.version().split("\\.")[0]) >= 7;
  }

  @Test
  void outOfMemoryIsClassifiedAsOomForPlainWritesAndForWritesInsideScripts() {
    redisCli.configSet("maxmemory-policy", "noeviction");
    redisCli.configSet("maxmemory", "1");
    try {
      L2Failure plain = failureOf(() -> link.connection().sync().set(redisKey(1), VALUE));
      assertRefused(plain, FailureReason.OOM);
      assertThat(plain.getCause().getMessage()).startsWith("OOM ");

      L2Failure inScript = failureOf(() -> link.connection().sync()
          .eval(WRITE_SCRIPT, ScriptOutputType.STATUS, new String[] {redisKey(1)}, VALUE));
      assertRefused(inScript, FailureReason.OOM);
      assertScriptErrorWording(inScript, "OOM");
    } finally {
      redisCli.configSet("maxmemory", "0");
    }
  }

  @Test
  void aReadOnlyReplicaIsClassifiedAsReadonlyForPlainWritesAndForWritesInsideScripts() {
    redisCli.replicaof("127.0.0.1", 1); // nothing listens there: a read-only replica that keeps its data
    try {
      L2Failure plain = failureOf(() -> link.connection().sync().set(redisKey(1), VALUE));
      assertRefused(plain, FailureReason.READONLY);
      assertThat(plain.getCause().getMessage()).startsWith("READONLY ");

      L2Failure inScript = failureOf(() -> link.connection().sync()
          .eval(WRITE_SCRIPT, ScriptOutputType.STATUS, new String[] {redisKey(1)}, VALUE));
      assertRefused(inScript, FailureReason.READONLY);
      assertScriptErrorWording(inScript, "READONLY");
    } finally {
      redisCli.replicaofNoOne();
    }
  }

  @Test
  void aMasterWithoutItsMinimumReplicasIsClassifiedAsNoreplicasForPlainWritesAndForWritesInsideScripts() {
    redisCli.configSet("min-replicas-to-write", "1"); // the embedded Redis has none
    try {
      L2Failure plain = failureOf(() -> link.connection().sync().set(redisKey(1), VALUE));
      assertRefused(plain, FailureReason.NOREPLICAS);
      assertThat(plain.getCause().getMessage()).startsWith("NOREPLICAS ");

      L2Failure inScript = failureOf(() -> link.connection().sync()
          .eval(WRITE_SCRIPT, ScriptOutputType.STATUS, new String[] {redisKey(1)}, VALUE));
      assertRefused(inScript, FailureReason.NOREPLICAS);
      assertScriptErrorWording(inScript, "NOREPLICAS");
    } finally {
      redisCli.configSet("min-replicas-to-write", "0");
    }
  }

  @Test
  void aBusyKeyErrorIsNotTakenForABusyServer() {
    // BUSY (a script ran too long) means Redis cannot answer now and counts against the breaker; BUSYKEY only says a
    // key exists. A prefix match on "BUSY" mixed them up.
    byte[] dump = link.control(() -> {
      link.connection().sync().set(redisKey(1), VALUE);
      return link.connection().sync().dump(redisKey(1));
    });
    L2Failure busyKey = failureOf(() -> link.connection().sync().restore(redisKey(1), 0, dump));
    assertThat(busyKey.getCause().getMessage()).startsWith("BUSYKEY ");
    assertRefused(busyKey, FailureReason.OTHER);
  }

  @Test
  void errorCodesAreReadFromBothWordingsOfAScriptError() {
    assertThat(RedisLink.errorCode("OOM command not allowed when used memory > 'maxmemory'.")).isEqualTo("OOM");
    assertThat(RedisLink.errorCode("ERR Error running script (call to f_bd6f3018b28bbdb36260f19d3c44afed740db987): "
        + "@user_script:1: @user_script: 1: -OOM command not allowed when used memory > 'maxmemory'.")).isEqualTo("OOM");
    assertThat(RedisLink.errorCode("READONLY You can't write against a read only replica. script: "
        + "bd6f3018b28bbdb36260f19d3c44afed740db987, on @user_script:1.")).isEqualTo("READONLY");
    assertThat(RedisLink.errorCode("ERR Error running script (call to f_bd6f): @user_script:1: @user_script: 1: "
        + "-READONLY You can't write against a read only replica.")).isEqualTo("READONLY");
    assertThat(RedisLink.errorCode("@user_script: 1: -OOM command not allowed")).as("a pcall error table, 6.2")
        .isEqualTo("OOM");
    assertThat(RedisLink.errorCode("LOADING Redis is loading the dataset in memory")).isEqualTo("LOADING");
    assertThat(RedisLink.errorCode("BUSYKEY Target key name already exists.")).isEqualTo("BUSYKEY");
    assertThat(RedisLink.errorCode("ERR Error running script (call to f_1): @user_script:3: user_script:3: "
        + "attempt to compare nil with number")).isEqualTo("ERR");
    assertThat(RedisLink.errorCode("")).isEqualTo("");
  }

  private L2Failure failureOf(Supplier<?> command) {
    L2Failure failure = catchThrowableOfType(L2Failure.class, () -> link.control(command));
    assertThat(failure).as("Redis %s refused the command", redisServer.version()).isNotNull();
    return failure;
  }

  private void assertRefused(L2Failure failure, FailureReason reason) {
    assertThat(failure.reason).as("reason on Redis %s for: %s", redisServer.version(), failure.getMessage())
        .isEqualTo(reason);
    assertThat(failure.kind).as("an answered error does not count against the breaker")
        .isEqualTo(L2Failure.Kind.REFUSED);
  }

  private void assertScriptErrorWording(L2Failure failure, String code) {
    String raw = failure.getCause().getMessage();
    if (redis7OrNewer) {
      assertThat(raw).as("Redis %s answers a script's error with its own code", redisServer.version())
          .startsWith(code + " ").contains("script:");
    } else {
      assertThat(raw).as("Redis %s wraps a script's error", redisServer.version())
          .startsWith("ERR Error running script").contains("-" + code + " ");
    }
  }
}
