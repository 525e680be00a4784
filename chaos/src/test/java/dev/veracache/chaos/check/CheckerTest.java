package dev.veracache.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.chaos.workload.History;
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
    assertThat(Report.markdown(java.util.List.of(r))).contains("| s | 2 | 0 / 1 / 0 / 1 | 1 | 0 (1) | 0.00 |");
  }

  @Test
  void theTimelineCountsStaleReadsPerBucket() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", 2, 120 * MS, 121 * MS, 0, History.Level.CACHE); // origin of the timeline
    h.read("k", 1, 150 * MS, 151 * MS, 0, History.Level.CACHE); // bucket 0
    h.read("k", 1, 350 * MS, 351 * MS, 0, History.Level.CACHE); // bucket 2
    Report r = Checker.check("s <1>", h, W, 0, 0);
    assertThat(r.staleTimeline()).containsExactly(1, 0, 1); // charted: HtmlReportTest
  }

  @Test
  void aNotFoundReadIsStaleOnlyWhileTheRowExistedForLongerThanTheWindow() {
    History h = new History();
    h.write("k", 2, 100 * MS, true); // deleted
    h.write("k", 3, 200 * MS); // inserted again
    h.read("k", History.NOT_FOUND, 150 * MS, 151 * MS, 0, History.Level.L2); // row gone: fresh
    h.read("k", History.NOT_FOUND, 205 * MS, 206 * MS, 0, History.Level.L2); // within W of the insert: allowed
    h.read("k", History.NOT_FOUND, 260 * MS, 261 * MS, 0, History.Level.L1); // 60 ms after the insert: stale
    Report r = Checker.check("s", h, W, 0, 0);
    assertThat(r.staleReads()).isEqualTo(1);
    assertThat(r.stalenessMax()).isEqualTo(60 * MS);
  }

  @Test
  void aNotFoundReadThatMayHaveSeenADeleteIsNotStaleAndUnwrittenKeysAreNotJudged() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.write("k", 3, 155 * MS, true); // deleted while the read ran
    h.read("k", History.NOT_FOUND, 150 * MS, 160 * MS, 0, History.Level.L2);
    h.read("never-written", History.NOT_FOUND, 150 * MS, 151 * MS, 0, History.Level.L2);
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isZero();
  }

  @Test
  void aNotFoundReadIsNotStaleWhenADeleteWasSentBeforeItEndedThoughTheDeleteReturnedLongAfter() {
    // The CI failure this pins: a database read (never stale) counted stale, because the writer thread was
    // descheduled between its delete's commit and taking the time.
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.write("k", 3, 140 * MS, 400 * MS, true); // sent at 140, returned at 400
    h.read("k", History.NOT_FOUND, 150 * MS, 151 * MS, 0, History.Level.DATABASE);
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isZero();
    h.read("k", History.NOT_FOUND, 120 * MS, 121 * MS, 0, History.Level.L1); // ended before the delete was sent
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isEqualTo(1);
  }

  @Test
  void aNotFoundReadIsJudgedByTheNewestVersionNotByTheOrderTheCommitsReturnedIn() {
    History h = new History();
    h.write("k", 5, 100 * MS); // inserted at v5
    h.write("k", 6, 90 * MS, 300 * MS, false); // updated at v6: its writer took the time late
    h.write("k", 7, 200 * MS, true); // deleted at v7, returned before v6's time was taken
    h.read("k", History.NOT_FOUND, 400 * MS, 401 * MS, 0, History.Level.DATABASE);
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isZero();

    History present = new History();
    present.write("k", 2, 50 * MS, true); // deleted
    present.write("k", 3, 100 * MS); // inserted again
    present.write("k", 4, 80 * MS, 120 * MS, false); // updated; returned after
    present.read("k", History.NOT_FOUND, 300 * MS, 301 * MS, 0, History.Level.L1);
    Report r = Checker.check("s", present, W, 0, 0);
    assertThat(r.staleReads()).isEqualTo(1);
    assertThat(r.stalenessMax()).as("present since the insert after the delete").isEqualTo(200 * MS);
  }

  @Test
  void aCommitSentAfterItReturnedIsRefused() {
    assertThatThrownBy(() -> new History.Write("k", 2, 100 * MS, false, 101 * MS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k v2");
  }

  @Test
  void aValueReadAfterTheRowWasDeletedIsStale() {
    History h = new History();
    h.write("k", 2, 100 * MS, true);
    h.read("k", 1, 150 * MS, 151 * MS, 0, History.Level.L1);
    assertThat(Checker.check("s", h, W, 0, 0).staleReads()).isEqualTo(1);
  }

  @Test
  void loadsOfOneKeyThatOverlapCountAsConcurrentAndTouchingOnesDoNot() {
    History h = new History();
    h.load("k", 0, 10 * MS);
    h.load("k", 5 * MS, 15 * MS);
    h.load("k", 6 * MS, 8 * MS); // three at once at 6-8 ms
    h.load("k", 15 * MS, 20 * MS); // starts when the second ends
    h.load("other", 0, 10 * MS);
    Report r = Checker.check("s", h, W, 0, 0);
    assertThat(r.loads()).isEqualTo(5);
    assertThat(r.peakConcurrentLoads()).isEqualTo(3);
  }

  @Test
  void availabilityAndLatencyDuringTheFaultCoverOnlyReadsThatStartedInIt() {
    History h = new History();
    h.read("k", 1, System.nanoTime() - 1000 * MS, System.nanoTime() - 999 * MS, 0, History.Level.L1);
    h.faultStarted();
    long t = System.nanoTime();
    h.read("k", -1, t, t + 300 * MS, 0, History.Level.FAILED);
    h.read("k", 1, t, t + 2 * MS, 0, History.Level.DATABASE);
    h.faultEnded();
    Report r = Checker.check("s", h, W, 0, 0);
    assertThat(r.availabilityPercent()).isCloseTo(66.67, org.assertj.core.data.Offset.offset(0.01));
    assertThat(r.faultAvailabilityPercent()).isEqualTo(50.0);
    assertThat(r.faultLatencyP99()).isEqualTo(300 * MS);
    assertThat(r.readsByLevel()).containsEntry(History.Level.L1, 1).containsEntry(History.Level.DATABASE, 1)
        .containsEntry(History.Level.FAILED, 1);
  }

  /**
   * REPLICA_LAG exempts the replica's answers, not the cache's: a read attributed to DATABASE (it ran the loader) whose
   * answer is not what its loader returned was answered from L1 or L2, and is judged like one.
   */
  @Test
  void aReadThatRanTheLoaderButAnsweredSomethingElseIsJudgedWhenLoadedReadsAreNot() {
    History h = new History();
    h.write("k", 2, 100 * MS);
    h.read("k", 1, 500 * MS, 501 * MS, 0, History.Level.DATABASE, 1); // the lagging replica said v1: exempt
    h.read("k", 1, 500 * MS, 501 * MS, 1, History.Level.DATABASE, 2); // the replica said v2, the cache answered v1
    h.read("k", 1, 500 * MS, 501 * MS, 2, History.Level.DATABASE, History.NOT_FOUND); // not what it loaded either
    h.read("k", 1, 500 * MS, 501 * MS, 3, History.Level.DATABASE); // not recorded: exempt, as before
    h.read("k", 1, 500 * MS, 501 * MS, 3, History.Level.L1); // the cache's answer: judged
    assertThat(Checker.check("s", h, W, 0, 0, false).staleReads()).isEqualTo(3);
    assertThat(Checker.describeStaleReads(h, W, 10, false)).singleElement().asString().contains("instance 1");
    assertThat(Checker.check("s", h, W, 0, 0, true).staleReads()).isEqualTo(5);
  }
}
