package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A hostile review of the read that skips the GET for a key whose change was pushed (L1Store.takeChanged): what the
 * lease script answers differently from a GET, beyond the value served.
 */
class PushedKeyMissReviewIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);
  private static final Pattern CALLS = Pattern.compile("calls=(\\d+)");

  /** How many calls of the given commands Redis has run (INFO commandstats). */
  private long calls(String... commands) {
    String stats = redisCli.info("commandstats");
    long total = 0;
    for (String line : stats.split("\r?\n")) {
      for (String command : commands) {
        if (line.startsWith("cmdstat_" + command + ":")) {
          Matcher m = CALLS.matcher(line);
          total += m.find() ? Long.parseLong(m.group(1)) : 0;
        }
      }
    }
    return total;
  }

  /**
   * RedisEntries' invariant: a key of another type under the namespace is counted ({@code veracache.codec.errors}),
   * logged and invalidated. Any write of the key (here the foreign HSET itself) is pushed to the instance and marks the
   * key changed, so its next read goes to the lease script, whose read_record deletes the foreign key silently: nothing
   * counted, nothing logged.
   */
  @Test
  void aKeyOfAnotherTypeOverAKeyThisL1HeldIsStillCountedAsACodecError() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance();
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(1L, loader());
    await().atMost(WITHIN).until(() -> inL1(cache, 1L));
    redisCli.del(redisKey(1));
    redisCli.hset(redisKey(1), "field", "written by someone else".getBytes(StandardCharsets.UTF_8));
    jvm.awaitPushesSoFar(); // the pushes dropped the key from L1 and marked it changed: its next read skips the GET

    assertThat(cache.get(1L, id -> new Product(id, "fresh", 4)).name()).isEqualTo("fresh");

    assertThat(counter(jvm, "veracache.codec.errors", "cache", namespace))
        .as("the foreign key is reported, as a GET-first read reports it").isEqualTo(1);
  }

  /**
   * The commit says cold keys still GET first. But tracking is BCAST: every write of the namespace is pushed to every
   * instance, so another instance's fill marks a key this instance never read as changed, and its first read runs the
   * lease script (EVALSHA) where a GET would do: a hit in a multi-instance deployment costs a script.
   */
  @Test
  void aKeyNeverReadHereThatAnotherInstanceFilledIsReadWithAGetNotAScript() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance(o -> o.heartbeatInterval(Duration.ofMinutes(10)));
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    Veracache jvmB = newInstance(o -> o.heartbeatInterval(Duration.ofMinutes(10)));
    CacheAside<Long, Product> b = jvmB.cacheAside(productOptions().build());
    b.get(1L, loader()); // B fills: the fill's push reaches A too
    await().atMost(WITHIN).until(() -> counter(jvmB, "veracache.l1.readmissions", "result", "stored")
        + counter(jvmB, "veracache.l1.readmissions", "result", "not_stored")
        + counter(jvmB, "veracache.l1.readmissions", "result", "skipped") == 1); // B's own re-read is done
    jvmA.awaitPushesSoFar();

    long scriptsBefore = calls("evalsha", "eval");
    assertThat(a.get(1L, loader()).name()).isEqualTo("v1");
    long scripts = calls("evalsha", "eval") - scriptsBefore;

    assertThat(scripts).as("scripts run by A's first read of a key it never read (an L2 hit)").isZero();
  }
}
