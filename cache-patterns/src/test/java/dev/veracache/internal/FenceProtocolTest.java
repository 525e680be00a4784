package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.internal.FenceProtocol.Busy;
import dev.veracache.internal.FenceProtocol.FillOutcome;
import dev.veracache.internal.FenceProtocol.Granted;
import dev.veracache.internal.FenceProtocol.Lease;
import dev.veracache.internal.FenceProtocol.Present;
import dev.veracache.internal.FenceProtocol.PublishOutcome;
import dev.veracache.internal.FenceProtocol.PutOutcome;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fence protocol's reply decoding, without a server: each script's replies (as Lettuce hands them over with
 * {@code ScriptOutputType.MULTI}: a list of Long and byte[]) become their typed result, and a reply a script does not
 * have fails loudly, naming the script.
 */
class FenceProtocolTest {

  @Test
  void aClusterBatchIsSplitBySlotKeepingEachKeysOrder() {
    List<FenceProtocol.KeyedInvalidation> batch = new java.util.ArrayList<>();
    for (int i = 0; i < 300; i++) {
      // Each key twice, older version first, spread over many slots.
      batch.add(new FenceProtocol.KeyedInvalidation("ns:" + (i % 150), Invalidation.of(i, false), 1000));
    }
    var groups = FenceProtocol.bySlot(batch);
    assertThat(groups.stream().mapToInt(List::size).sum()).isEqualTo(300);
    for (List<FenceProtocol.KeyedInvalidation> group : groups) {
      int slot = io.lettuce.core.cluster.SlotHash.getSlot(group.get(0).key());
      assertThat(group).allSatisfy(i -> assertThat(io.lettuce.core.cluster.SlotHash.getSlot(i.key())).isEqualTo(slot));
      assertThat(group).as("list order within a slot").isSortedAccordingTo(
          java.util.Comparator.comparingInt(i -> batch.indexOf(i)));
    }
  }

  @Test
  void acquireRepliesBecomeGrantedBusyOrPresent() {
    assertThat(FenceProtocol.decodeAcquire("ns:1", 42, List.of(1L))).isEqualTo(new Granted(new Lease("ns:1", 42)));
    assertThat(FenceProtocol.decodeAcquire("ns:1", 42, List.of(0L, 1500L))).isEqualTo(new Busy(1500));
    byte[] record = "V:3:{}".getBytes(StandardCharsets.US_ASCII);
    assertThat(FenceProtocol.decodeAcquire("ns:1", 42, List.of(2L, record)))
        .isInstanceOfSatisfying(Present.class, p -> assertThat(p.record()).isSameAs(record));
  }

  @Test
  void fillRepliesBecomeTheirOutcome() {
    assertThat(FenceProtocol.decodeFill(List.of(1L))).isEqualTo(FillOutcome.STORED);
    assertThat(FenceProtocol.decodeFill(List.of(0L))).isEqualTo(FillOutcome.REFUSED_BY_LEASE);
    assertThat(FenceProtocol.decodeFill(List.of(-1L))).isEqualTo(FillOutcome.REFUSED_PRESENT);
    assertThat(FenceProtocol.decodeFill(List.of(-2L))).isEqualTo(FillOutcome.REFUSED_BY_VERSION);
  }

  @Test
  void putRepliesBecomeTheirOutcome() {
    assertThat(FenceProtocol.decodePut(List.of(1L))).isEqualTo(PutOutcome.STORED);
    assertThat(FenceProtocol.decodePut(List.of(2L))).isEqualTo(PutOutcome.ALREADY_CACHED);
    assertThat(FenceProtocol.decodePut(List.of(0L))).isEqualTo(PutOutcome.REFUSED_BY_VERSION);
    assertThat(FenceProtocol.decodePut(List.of(3L))).isEqualTo(PutOutcome.NO_FLOOR);
  }

  @Test
  void releaseInvalidateProgressAndPublishRepliesAreDecoded() {
    assertThat(FenceProtocol.decodeApplied(FenceScript.RELEASE, List.of(1L))).isTrue();
    assertThat(FenceProtocol.decodeApplied(FenceScript.INVALIDATE, List.of(0L))).isFalse();
    FenceProtocol.Progress progress = FenceProtocol.decodeProgress(2, List.of(1_000L, 990L, -1L));
    assertThat(progress.redisNowMillis()).isEqualTo(1_000);
    assertThat(progress.safeThroughMillis()).containsExactly(990L, -1L);
    assertThat(FenceProtocol.decodePublish(List.of(1L))).isEqualTo(PublishOutcome.PUBLISHED);
    assertThat(FenceProtocol.decodePublish(List.of(0L, new byte[0]))).isEqualTo(PublishOutcome.SEQUENCE_LOST);
  }

  @Test
  void aReplyAScriptDoesNotHaveFailsNamingTheScript() {
    assertThatThrownBy(() -> FenceProtocol.decodeFill(List.of(7L)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("fill.lua answered [7]");
    assertThatThrownBy(() -> FenceProtocol.decodePut(List.of()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("put.lua");
    assertThatThrownBy(() -> FenceProtocol.decodeAcquire("k", 1, List.of(2L, 5L)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("acquire.lua answered [2, 5]");
    assertThatThrownBy(() -> FenceProtocol.decodeAcquire("k", 1, List.of(0L)))
        .as("busy without the remaining time").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> FenceProtocol.decodeProgress(2, List.of(1_000L, 990L)))
        .as("one namespace's progress missing").isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("progress.lua");
    assertThatThrownBy(() -> FenceProtocol.decodeApplied(FenceScript.RELEASE, "OK"))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("release.lua answered OK");
  }
}
