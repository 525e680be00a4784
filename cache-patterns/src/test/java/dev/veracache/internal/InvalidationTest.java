package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How two pending invalidations of one key merge ({@link Invalidation#merge}), and what invalidate.lua receives: the
 * merge refuses whatever either would refuse, without a server.
 */
class InvalidationTest {

  /** ARGV of invalidate.lua as text: floor, tombstone lifetime, kind, drop-any-value. */
  private static List<String> args(Invalidation invalidation) {
    return Arrays.stream(invalidation.scriptArgs(500)).map(b -> new String(b, StandardCharsets.US_ASCII)).toList();
  }

  @Test
  void eachKindIsEncodedForTheScript() {
    assertThat(args(Invalidation.changed(7))).containsExactly("7", "500", "P", "0");
    assertThat(args(Invalidation.deleted(7))).as("a delete's floor is the version above it")
        .containsExactly("8", "500", "D", "0");
    assertThat(args(Invalidation.deleted(Long.MAX_VALUE))).as("2^63, unsigned")
        .containsExactly("9223372036854775808", "500", "D", "0");
    assertThat(args(Invalidation.unversioned())).containsExactly("-1", "500", "T", "1");
    assertThat(Invalidation.of(RedisRecord.NO_VERSION, true)).isSameAs(Invalidation.unversioned());
  }

  @Test
  void theHigherFloorWinsAndAtEqualFloorsTheRowExists() {
    assertThat(args(Invalidation.changed(3).merge(Invalidation.changed(5)))).startsWith("5", "500", "P");
    assertThat(args(Invalidation.changed(5).merge(Invalidation.deleted(3)))).startsWith("5", "500", "P");
    assertThat(args(Invalidation.deleted(5).merge(Invalidation.changed(3)))).startsWith("6", "500", "D");
    assertThat(args(Invalidation.deleted(4).merge(Invalidation.changed(5)))).as("equal floors 5")
        .startsWith("5", "500", "P");
    assertThat(args(Invalidation.changed(5).merge(Invalidation.deleted(4)))).startsWith("5", "500", "P");
  }

  @Test
  void anUnversionedChangeMakesTheMergeUnversionedAndKeepsTheHigherFloor() {
    assertThat(args(Invalidation.changed(9).merge(Invalidation.unversioned())))
        .containsExactly("9", "500", "T", "1");
    assertThat(args(Invalidation.unversioned().merge(Invalidation.deleted(9))))
        .containsExactly("10", "500", "T", "1");
    assertThat(args(Invalidation.unversioned().merge(Invalidation.unversioned())))
        .containsExactly("-1", "500", "T", "1");
  }

  @Test
  void aNegativeVersionIsRefusedNamingIt() {
    assertThatThrownBy(() -> Invalidation.changed(-2)).hasMessageContaining("was -2");
  }
}
