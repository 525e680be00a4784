package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.internal.L2Failure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The one failure-reason type: its tags are the documented metric tag values, and its kind drives the breaker. */
class FailureReasonTest {

  /** The tag values dashboards select on (module README, "Metrics"): they must never change. */
  private static final Map<FailureReason, String> DOCUMENTED_TAGS = new LinkedHashMap<>();

  static {
    DOCUMENTED_TAGS.put(FailureReason.TIMEOUT, "timeout");
    DOCUMENTED_TAGS.put(FailureReason.DISCONNECTED, "disconnected");
    DOCUMENTED_TAGS.put(FailureReason.CIRCUIT_OPEN, "circuit_open");
    DOCUMENTED_TAGS.put(FailureReason.LOADING, "loading");
    DOCUMENTED_TAGS.put(FailureReason.BUSY, "busy");
    DOCUMENTED_TAGS.put(FailureReason.OOM, "oom");
    DOCUMENTED_TAGS.put(FailureReason.READONLY, "readonly");
    DOCUMENTED_TAGS.put(FailureReason.WRONGTYPE, "wrongtype");
    DOCUMENTED_TAGS.put(FailureReason.NOPERM, "noperm");
    DOCUMENTED_TAGS.put(FailureReason.NOREPLICAS, "noreplicas");
    DOCUMENTED_TAGS.put(FailureReason.NOT_DURABLE, "not_durable");
    DOCUMENTED_TAGS.put(FailureReason.OTHER, "other");
  }

  @Test
  void everyReasonKeepsItsDocumentedTagValue() {
    assertThat(FailureReason.values()).containsExactlyInAnyOrderElementsOf(DOCUMENTED_TAGS.keySet());
    DOCUMENTED_TAGS.forEach((reason, tag) -> assertThat(reason.tag()).as("tag of %s", reason).isEqualTo(tag));
  }

  @Test
  void theBreakerCountsOnlyTheReasonsThatMeanRedisCannotServe() {
    Set<FailureReason> unavailable = Arrays.stream(FailureReason.values()).filter(FailureReason::isUnavailable)
        .collect(Collectors.toSet());
    assertThat(unavailable).containsExactlyInAnyOrder(FailureReason.TIMEOUT, FailureReason.DISCONNECTED,
        FailureReason.CIRCUIT_OPEN, FailureReason.LOADING, FailureReason.BUSY);
    for (FailureReason reason : FailureReason.values()) {
      L2Failure failure = new L2Failure(reason, "Redis at host:1 failed", null);
      assertThat(failure.kind).as("kind of %s", reason)
          .isEqualTo(reason.isUnavailable() ? L2Failure.Kind.UNAVAILABLE : L2Failure.Kind.REFUSED);
      assertThat(failure.reason).isSameAs(reason);
    }
  }

  @Test
  void theUnavailableExceptionCarriesTheReasonAndIsAVeracacheException() {
    CacheUnavailableException e = new CacheUnavailableException("Redis at host:1 is out of memory",
        FailureReason.OOM, null);
    assertThat(e).isInstanceOf(VeracacheException.class);
    assertThat(e.getReason()).isEqualTo(FailureReason.OOM);
    assertThat(e.getReason().tag()).isEqualTo("oom");
    assertThatThrownBy(() -> new CacheUnavailableException("no reason", null, null))
        .isInstanceOf(NullPointerException.class).hasMessage("reason must not be null");
  }

  /** The README's row of {@code veracache.redis.errors} lists exactly the tags a Redis call can be counted under. */
  @Test
  void theReadmeListsEveryRedisErrorTag() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    Matcher row = Pattern.compile("(?m)^\\| `veracache\\.redis\\.errors` \\| `reason`=(\\S+) ").matcher(readme);
    assertThat(row.find()).as("README.md has a row for veracache.redis.errors").isTrue();
    Set<String> documented = Arrays.stream(row.group(1).split("/")).map(t -> t.replace("`", ""))
        .collect(Collectors.toSet());
    Set<String> counted = Arrays.stream(FailureReason.values()).map(FailureReason::tag).collect(Collectors.toSet());
    assertThat(documented).isEqualTo(counted);
  }
}
