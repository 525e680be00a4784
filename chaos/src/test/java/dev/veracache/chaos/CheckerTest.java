package dev.veracache.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The checker on hand-made histories: times in ms, converted to ns. */
class CheckerTest {

  private static final long MS = 1_000_000L;
  private static final Duration W = Duration.ofMillis(10);

  @Test
  void aReadOfAnOlderVersionLongAfterTheNewerCommitIsStaleByThatLong() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", 1, 150 * MS, 151 * MS, 0, History.Level.CACHE); // 50 ms after v2 committed
    Report r = Checker.check("s", h, W, 0, 0);
    assertThat(r.staleReads()).isEqualTo(1);
    assertThat(r.stalenessMax()).isEqualTo(50 * MS);
    assertThat(r.staleReadPercent()).isEqualTo(100.0);
  }

  @Test
  void aReadWithinTheWindowOrOfTheNewestVersionIsNotStale() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", 1, 105 * MS, 106 * MS, 0, History.Level.CACHE); // within W of the commit
    h.read("k", 2, 150 * MS, 151 * MS, 0, History.Level.CACHE); // the newest
    h.read("other", 1, 150 * MS, 151 * MS, 1, History.Level.CACHE); // never written
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isZero();
  }

  @Test
  void stalenessIsMeasuredFromTheFirstNewerCommit() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.write("k", 3, 120 * MS);
    h.read("k", 1, 200 * MS, 201 * MS, 0, History.Level.CACHE);
    h.read("k", 2, 200 * MS, 201 * MS, 0, History.Level.CACHE);
    Report r = Checker.check("s", h, W, 0, 0);
    assertThat(r.staleReads()).isEqualTo(2);
    assertThat(r.stalenessMax()).isEqualTo(100 * MS); // v1 read: v2 committed at 100
    assertThat(r.stalenessP50()).isEqualTo(80 * MS); // v2 read: v3 committed at 120
  }

  @Test
  void failedReadsCountAgainstAvailabilityNotStaleness() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", -1, 150 * MS, 450 * MS, 0, History.Level.FAILED);
    h.read("k", 2, 150 * MS, 151 * MS, 0, History.Level.CACHE);
    Report r = Checker.check("s", h, W, 3, 1);
    assertThat(r.staleReads()).isZero();
    assertThat(r.availabilityPercent()).isEqualTo(50.0);
    assertThat(r.latencyP99()).isEqualTo(300 * MS);
    assertThat(r.keysStaleAfterQuiescence()).isEqualTo(3);
    assertThat(r.lostWrites()).isEqualTo(1);
    assertThat(Report.markdown(java.util.List.of(r))).contains("| s | 2 | 1 | 0 | 0.00 |");
  }

  @Test
  void theTimelineCountsStaleReadsPerBucketAndTheHtmlReportChartsThem() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", 2, 120 * MS, 121 * MS, 0, History.Level.CACHE); // origin of the timeline
    h.read("k", 1, 150 * MS, 151 * MS, 0, History.Level.CACHE); // bucket 0
    h.read("k", 1, 350 * MS, 351 * MS, 0, History.Level.CACHE); // bucket 2
    Report r = Checker.check("s <1>", h, W, 0, 0);
    assertThat(r.staleTimeline()).containsExactly(1, 0, 1);
    String html = HtmlReport.render("t", "sub", java.util.List.of(r));
    assertThat(html).contains("s &lt;1&gt;").contains("<svg").contains("<title>100 ms: 0</title>").contains("<title>200 ms: 1</title>");
  }
}
