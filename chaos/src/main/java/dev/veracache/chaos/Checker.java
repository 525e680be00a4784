package dev.veracache.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures a {@link History} against the consistency contract.
 *
 * <p>A read of key k that returned version v is <b>stale</b> when some write of k with a version newer than v had
 * committed more than W before the read started: the cache was allowed W to catch up, and did not. Its staleness is
 * how long before the read's start the first newer version had committed. Reads that returned nothing (FAILED) count
 * against availability, not staleness. Commit times are when the commit returned, which is after the real commit, so
 * the checker errs towards not calling a read stale.
 */
public final class Checker {

  private Checker() {}

  /**
   * @param window W, the allowed catch-up time
   * @param staleAfterQuiescence keys whose cached entry, in any level, differed from the database after the workload
   *     stopped, faults healed and W passed (from the scenario's final comparison)
   * @param lostWrites acknowledged writes the database does not have
   */
  public static Report check(String scenario, History history, Duration window, int staleAfterQuiescence,
      int lostWrites) {
    long w = window.toNanos();
    Map<String, List<History.Write>> writesByKey = new HashMap<>();
    for (History.Write write : history.writes()) {
      writesByKey.computeIfAbsent(write.key(), k -> new ArrayList<>()).add(write);
    }
    writesByKey.values().forEach(list -> list.sort(Comparator.comparingLong(History.Write::commitNanos)));

    List<History.Read> reads = history.reads();
    long origin = Long.MAX_VALUE;
    long end = Long.MIN_VALUE;
    for (History.Read read : reads) {
      origin = Math.min(origin, read.startNanos());
      end = Math.max(end, read.startNanos());
    }
    long bucketNanos = Report.BUCKET_MILLIS * 1_000_000L;
    int[] timeline = new int[reads.isEmpty() ? 0 : (int) ((end - origin) / bucketNanos) + 1];
    int answered = 0;
    int stale = 0;
    List<Long> staleness = new ArrayList<>();
    long[] latencies = new long[reads.size()];
    int n = 0;
    for (History.Read read : reads) {
      latencies[n++] = read.endNanos() - read.startNanos();
      if (read.level() == History.Level.FAILED) {
        continue;
      }
      answered++;
      long firstNewerCommit = Long.MAX_VALUE;
      for (History.Write write : writesByKey.getOrDefault(read.key(), List.of())) {
        if (write.commitNanos() >= read.startNanos() - w) {
          break; // sorted by commit time: the rest committed too recently to count
        }
        if (write.version() > read.version()) {
          firstNewerCommit = Math.min(firstNewerCommit, write.commitNanos());
        }
      }
      if (firstNewerCommit != Long.MAX_VALUE) {
        stale++;
        staleness.add(read.startNanos() - firstNewerCommit);
        timeline[(int) ((read.startNanos() - origin) / bucketNanos)]++;
      }
    }
    long[] sortedStaleness = staleness.stream().mapToLong(Long::longValue).sorted().toArray();
    long[] sortedLatency = Arrays.copyOf(latencies, n);
    Arrays.sort(sortedLatency);
    long max = sortedStaleness.length == 0 ? 0 : sortedStaleness[sortedStaleness.length - 1];
    return new Report(scenario, reads.size(), history.writes().size(), stale, percentile(sortedStaleness, 0.5),
        percentile(sortedStaleness, 0.99), max,
        staleAfterQuiescence, lostWrites, reads.isEmpty() ? 100.0 : 100.0 * answered / reads.size(),
        percentile(sortedLatency, 0.99), timeline);
  }

  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p * sorted.length) - 1))];
  }
}
