package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A read of a key whose change was pushed since it was last read skips the GET (Redis holds the change's tombstone):
 * counted with INFO commandstats, which also counts the GETs the scripts run inside Redis, hence the comparison with a
 * miss of a key never read.
 * it asks for the lease at once, so the miss takes two round trips (lease, fill) instead of three; and when another
 * instance filled the key meanwhile, the lease script's answer is served as a GET's would be.
 */
class PushedKeyMissIT extends RealServersTest {

  private static final Duration WITHIN = Duration.ofSeconds(10);
  private static final Pattern CALLS = Pattern.compile("calls=(\\d+)");

  /** How many GETs Redis has run (INFO commandstats). */
  private long gets() {
    String stats = redisCli.info("commandstats");
    for (String line : stats.split("\r?\n")) {
      if (line.startsWith("cmdstat_get:")) {
        Matcher m = CALLS.matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
      }
    }
    return 0;
  }

  private double rereads(Veracache jvm) {
    return counter(jvm, "veracache.l1.readmissions", "result", "stored")
        + counter(jvm, "veracache.l1.readmissions", "result", "not_stored")
        + counter(jvm, "veracache.l1.readmissions", "result", "skipped");
  }

  @Test
  void aMissAfterAPushedChangeSendsNoGet() throws Exception {
    products.insert(1, "v1");
    // No heartbeat in the measured window: only the reads below send GETs.
    Veracache jvmA = newInstance(o -> o.heartbeatInterval(Duration.ofMinutes(10)));
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = newInstance(o -> o.heartbeatInterval(Duration.ofMinutes(10)))
        .cacheAside(productOptions().build());
    a.get(1L, loader());
    await().atMost(WITHIN).until(() -> rereads(jvmA) == 1); // the fill's own re-read is done
    Product v2 = products.update(1, "v2");
    b.invalidate(1L, v2.version());
    await().atMost(WITHIN).until(() -> !inL1(a, 1L));
    jvmA.awaitPushesSoFar();

    // The GETs of a miss of a key never read (the GET, those the lease and fill scripts run inside Redis, the fill's
    // re-read into L1), against a miss of the key whose change was pushed.
    products.insert(2, "cold");
    long before = gets();
    a.get(2L, loader());
    await().atMost(WITHIN).until(() -> rereads(jvmA) == 2);
    long coldMiss = gets() - before;
    before = gets();
    assertThat(a.get(1L, loader())).isEqualTo(v2);
    await().atMost(WITHIN).until(() -> rereads(jvmA) == 3);
    long pushedMiss = gets() - before;

    assertThat(pushedMiss).as("GETs of the miss after a pushed change (a cold miss: %d)", coldMiss)
        .isEqualTo(coldMiss - 1);
    assertThat(counter(jvmA, "veracache.fills", "result", "stored")).isEqualTo(3);
  }

  @Test
  void aValueFilledByAnotherInstanceSinceThePushIsServedFromTheLeaseScriptsAnswer() throws Exception {
    products.insert(1, "v1");
    Veracache jvmA = newInstance();
    CacheAside<Long, Product> a = jvmA.cacheAside(productOptions().build());
    CacheAside<Long, Product> b = newInstance().cacheAside(productOptions().build());
    a.get(1L, loader());
    Product v2 = products.update(1, "v2");
    b.invalidate(1L, v2.version());
    await().atMost(WITHIN).until(() -> !inL1(a, 1L));
    assertThat(b.get(1L, loader())).isEqualTo(v2); // B fills v2
    jvmA.awaitPushesSoFar(); // the push of B's fill has reached A: it cannot refuse A's read below

    AtomicInteger loads = new AtomicInteger();
    assertThat(a.get(1L, id -> {
      loads.incrementAndGet();
      return products.find(id);
    })).isEqualTo(v2);
    assertThat(loads).as("served from Redis, not loaded").hasValue(0);
    assertThat(counter(jvmA, "veracache.gets", "level", "l2", "result", "hit")).isEqualTo(1);
    await().atMost(WITHIN).until(() -> inL1(a, 1L));
  }
}
