package dev.veracache.benchmarks.peers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerReportTest {

  /** One JMH JSON entry, as {@code -rf json} writes it (fields the report does not read left out). */
  private static String entry(String benchmark, int threads, String score, String error, String unit) {
    return "{\"jmhVersion\":\"1.37\",\"benchmark\":\"dev.veracache.benchmarks.peers." + benchmark + "\",\"mode\":"
        + "\"thrpt\",\"threads\":" + threads + ",\"forks\":1,\"primaryMetric\":{\"score\":" + score
        + ",\"scoreError\":" + error + ",\"scoreConfidence\":[0,0],\"scoreUnit\":\"" + unit + "\",\"rawData\":[[1]]},"
        + "\"secondaryMetrics\":{}}";
  }

  private static String json(String... entries) {
    return "[" + String.join(",", entries) + "]";
  }

  private static String row(String markdown, String path) {
    return markdown.lines().filter(line -> line.startsWith("| " + path)).findFirst().orElseThrow();
  }

  @Test
  void theL1RowShowsEachPeerWithItsErrorAndItsRatioToRawCaffeine() {
    String markdown = PeerReport.fromJsonText(json(
        entry("L1HitTwoThreads.caffeine", 2, "47.6", "2.0", "ops/us"),
        entry("L1HitTwoThreads.veracache", 2, "33.4", "1.0", "ops/us"),
        entry("L1HitTwoThreads.jetcache", 2, "1.9", "0.1", "ops/us"),
        entry("L1HitTwoThreads.redisson", 2, "2.0", "0.2", "ops/us"))).markdown("load 1.00");

    String row = row(markdown, "L1 hit, 2 threads");
    // 33.4 / 47.6 = 0.70; error 0.70 * hypot(1.0/33.4, 2.0/47.6) = 0.036
    assertThat(row).contains("| 33.4 ± 1.00 (0.70x ± 0.04) |", "| Caffeine 47.6 ± 2.00 |",
        "| 1.90 ± 0.100 (0.04x ± 0.00) |", "| no (0.70x) |");
    assertThat(markdown).contains("load 1.00").contains("| L1HitTwoThreads.jetcache | 2 | 1.90 ± 0.100 | ops/us |");
  }

  @Test
  void aTargetIsMetOnlyOnTheRightSideOfTheRatioAndTheMissMustAlsoBeatJetCache() {
    String markdown = PeerReport.fromJsonText(json(
        entry("L2Hit.lettuceGet", 1, "80", "1", "us/op"),
        entry("L2Hit.veracacheL1Off", 1, "84", "1", "us/op"),
        entry("MissWithFill.naiveGetPsetex", 1, "180", "2", "us/op"),
        entry("MissWithFill.veracache", 1, "200", "2", "us/op"),
        entry("MissWithFill.jetcache", 1, "150", "2", "us/op"))).markdown("");

    assertThat(row(markdown, "L2 hit")).contains("L1 off 84.0 ± 1.00 (1.05x ± 0.02)", "L1 miss not run",
        "| yes (1.05x) |");
    // 200/180 = 1.11 is within 1.3x, but JetCache is faster: not met
    assertThat(row(markdown, "miss, load and fill")).contains("| no (1.11x, 200 us vs JetCache 150 us) |",
        "read-through not run; get + fastPut not run");
  }

  @Test
  void aScoreWithoutAnErrorAndAMissingRawLimitAreShownNotGuessed() {
    String markdown = PeerReport.fromJsonText(json(
        entry("L1HitOneThread.veracache", 1, "14.9", "\"NaN\"", "ops/us"))).markdown("");

    assertThat(row(markdown, "L1 hit, 1 thread")).contains("| 14.9 ± ? |", "| Caffeine not run |",
        "| not run |");
  }

  @Test
  void everyBenchmarkOfTheFileIsListed() {
    List<String> entries = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      entries.add(entry("Other.benchmark" + i, 1, Integer.toString(i + 1), "0.5", "us/op"));
    }
    PeerReport report = PeerReport.fromJsonText(json(entries.toArray(String[]::new)));

    assertThat(report.scores()).containsOnlyKeys("Other.benchmark0", "Other.benchmark1", "Other.benchmark2");
    assertThat(report.markdown("")).contains("| Other.benchmark2 | 1 | 3.00 ± 0.500 | us/op |");
  }

  @Test
  void aFileThatIsNotJmhJsonIsRefusedNamingWhatIsWrong() {
    assertThatThrownBy(() -> PeerReport.fromJsonText("{\"benchmark\":\"x\"}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a JSON array")
        .hasMessageContaining("-rf json");
    assertThatThrownBy(() -> PeerReport.fromJsonText("[{\"mode\":\"thrpt\"}]"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without 'benchmark'");
  }
}
