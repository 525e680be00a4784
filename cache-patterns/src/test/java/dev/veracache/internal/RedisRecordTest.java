package dev.veracache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RedisRecordTest {

  @Test
  void valueRecordKeepsVersionAndPayload() {
    RedisRecord r = RedisRecord.parse(RedisRecord.value(42, "{\"a\":1}".getBytes(StandardCharsets.UTF_8)));
    assertThat(r.kind).isEqualTo(RedisRecord.Kind.VALUE);
    assertThat(r.version).isEqualTo(42);
    assertThat(new String(r.payload(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
  }

  @Test
  void payloadMayContainTheSeparator() {
    RedisRecord r = RedisRecord.parse(RedisRecord.value(-1, "a:b:c".getBytes(StandardCharsets.UTF_8)));
    assertThat(r.version).isEqualTo(-1);
    assertThat(new String(r.payload(), StandardCharsets.UTF_8)).isEqualTo("a:b:c");
  }

  @Test
  void negativeAndTombstoneRecords() {
    assertThat(RedisRecord.parse(RedisRecord.negative(-1)).kind).isEqualTo(RedisRecord.Kind.NEGATIVE);
    RedisRecord t = RedisRecord.parse("T:7:123:1700000000000".getBytes(StandardCharsets.US_ASCII));
    assertThat(t.kind).isEqualTo(RedisRecord.Kind.TOMBSTONE);
    assertThat(t.version).isEqualTo(7);
  }

  @Test
  void aTombstoneTellsWhetherItHoldsALease() {
    assertThat(RedisRecord.parse("T:7:123:1700000000000".getBytes(StandardCharsets.US_ASCII)).leaseRecorded())
        .isTrue();
    assertThat(RedisRecord.parse("T:7:0:0".getBytes(StandardCharsets.US_ASCII)).leaseRecorded()).isFalse();
    assertThat(RedisRecord.parse("T:-1:0:0".getBytes(StandardCharsets.US_ASCII)).leaseRecorded()).isFalse();
    assertThat(RedisRecord.parse(RedisRecord.value(1, new byte[] {'0', ':'})).leaseRecorded()).isFalse();
  }

  @Test
  void foreignBytesAreRejectedWithAReason() {
    assertThatThrownBy(() -> RedisRecord.parse("hello".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("not a Veracache record");
    assertThatThrownBy(() -> RedisRecord.parse("V:x1:abc".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("bad version");
    assertThatThrownBy(() -> RedisRecord.parse("X:1:abc".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("unknown kind");
  }
}
