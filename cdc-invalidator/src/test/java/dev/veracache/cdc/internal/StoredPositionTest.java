package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading Debezium's stored offsets: which listener's, which binlog file, and whether it is a snapshot's. */
class StoredPositionTest {

  private static final String KEY = "[\"lp-crash\",{\"server\":\"lp-crash\"}]";

  @Test
  void aStreamingOffsetIsAPositionNamingItsBinlogFile() {
    Optional<StoredPosition> position = StoredPosition.fromJson(Map.of(KEY, "{\"ts_sec\":1796089189,\"file\":"
        + "\"mysql-bin.000001\",\"pos\":10797,\"gtids\":\"0-1-34\",\"row\":1,\"server_id\":1,\"event\":2}"), "lp-crash");
    assertThat(position).hasValue(new StoredPosition(Optional.of("mysql-bin.000001"), false));
  }

  /** As Debezium 3.5's MariaDB connector stored it after a schema-only snapshot, before any streaming record. */
  @Test
  void theOffsetOfAStartUpSnapshotIsReadAsUnfinished() {
    assertThat(StoredPosition.fromJson(Map.of(KEY, "{\"ts_sec\":1796089179,\"file\":\"mysql-bin.000001\","
        + "\"pos\":2884,\"gtids\":\"0-1-9\",\"snapshot\":\"INITIAL\"}"), "lp-crash"))
        .hasValueSatisfying(p -> assertThat(p.snapshotUnfinished()).isTrue());
    assertThat(StoredPosition.fromJson(Map.of(KEY, "{\"file\":\"f\",\"pos\":4,\"snapshot\":true}"), "lp-crash"))
        .as("older versions wrote true").hasValueSatisfying(p -> assertThat(p.snapshotUnfinished()).isTrue());
  }

  @Test
  void aSnapshotMarkedCompletedOrFalseIsAResumablePosition() {
    assertThat(StoredPosition.fromJson(Map.of(KEY, "{\"file\":\"f\",\"pos\":4,\"snapshot\":\"INITIAL\","
        + "\"snapshot_completed\":true}"), "lp-crash"))
        .hasValueSatisfying(p -> assertThat(p.snapshotUnfinished()).isFalse());
    assertThat(StoredPosition.fromJson(Map.of(KEY, "{\"file\":\"f\",\"pos\":4,\"snapshot\":false}"), "lp-crash"))
        .hasValueSatisfying(p -> assertThat(p.snapshotUnfinished()).isFalse());
  }

  @Test
  void anotherListenersOffsetIsNoPositionOfThisOne() {
    assertThat(StoredPosition.fromJson(Map.of(KEY, "{\"file\":\"f\",\"pos\":4}"), "lp-other")).isEmpty();
  }
}
