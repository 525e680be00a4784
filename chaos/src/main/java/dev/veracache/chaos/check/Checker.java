package dev.veracache.chaos.check;

import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures a {@link History} against the consistency contract.
 *
 * <p>A read of key k is <b>stale</b> when the cache was allowed W to catch up with a commit, and did not:
 * <ul>
 *   <li>a read that returned version v is stale when a write of k with a version newer than v (an update, or a delete,
 *       which takes the next version too) had committed more than W before the read started; its staleness is how long
 *       before the read's start the first such write had committed;</li>
 *   <li>a read that returned "not found" is stale when the last write of k committed more than W before the read
 *       started left the row present (the newest version committed by then, whatever order the commits returned
 *       in), and no newer delete of k was sent before the read's end; its staleness is measured from the write that
 *       made the row present. A key never written before the cut-off is not judged (the
 *       checker does not know the initial rows), so the checker errs towards not calling a read stale.</li>
 * </ul>
 * Reads that returned nothing (FAILED) count against availability, not staleness. A read is <b>judged</b> when a commit
 * of its key is older than its start minus W (only such a read can be stale); the report says how many were, so that
 * "0 stale" is never shown where nothing could have been counted. Reads of the database (level DATABASE) are answered
 * but not cache hits. Commit times are when the commit
 * returned, which is after the real commit: again towards not calling a read stale.
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
    return check(scenario, history, window, staleAfterQuiescence, lostWrites, true);
  }

  /**
   * As {@link #check(String, History, Duration, int, int)}; with {@code judgeLoadedReads} false, reads the loader
   * answered (level DATABASE, with the answer its own loader run returned) are answered but not judged: the loader
   * reads a replica that may lag on purpose (REPLICA_LAG), so its answers are the replica's, and what is judged is what
   * the cache answered, including a read that ran the loader and then answered something else.
   */
  public static Report check(String scenario, History history, Duration window, int staleAfterQuiescence,
      int lostWrites, boolean judgeLoadedReads) {
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
    long[] fault = history.faultWindow();
    Map<History.Level, Integer> byLevel = new EnumMap<>(History.Level.class);
    int answered = 0;
    int stale = 0;
    List<Long> staleness = new ArrayList<>();
    long[] latencies = new long[reads.size()];
    long[] faultLatencies = new long[reads.size()];
    int n = 0;
    int inFault = 0;
    int answeredInFault = 0;
    int judged = 0;
    int judgedInFault = fault == null ? -1 : 0;
    int outsideFault = 0;
    int answeredOutsideFault = 0;
    int cacheHitsOutsideFault = 0;
    int afterFault = 0;
    int cacheHitsAfterFault = 0;
    for (History.Read read : reads) {
      byLevel.merge(read.level(), 1, Integer::sum);
      long latency = read.endNanos() - read.startNanos();
      latencies[n++] = latency;
      long start = read.startNanos();
      // Without a timed fault, the "in fault" figures are the whole run's, and so are the "outside" ones.
      boolean duringFault = fault == null || start >= fault[0] && start <= fault[1];
      boolean outside = fault == null || start < fault[0] || start > fault[1] + w;
      // After the fault's recovery: where a cache that never recovered from the fault would show it.
      boolean after = fault != null && start > fault[1] + w;
      if (duringFault) {
        faultLatencies[inFault++] = latency;
      }
      if (outside) {
        outsideFault++;
      }
      if (after) {
        afterFault++;
      }
      if (read.level() == History.Level.FAILED) {
        continue;
      }
      answered++;
      if (duringFault) {
        answeredInFault++;
      }
      if (outside) {
        answeredOutsideFault++;
        if (read.level() != History.Level.DATABASE) {
          cacheHitsOutsideFault++;
          if (after) {
            cacheHitsAfterFault++;
          }
        }
      }
      if (!judgeLoadedReads && answeredByItsLoader(read)) {
        continue;
      }
      List<History.Write> keyWrites = writesByKey.getOrDefault(read.key(), List.of());
      if (!keyWrites.isEmpty() && keyWrites.get(0).commitNanos() < start - w) {
        judged++;
        if (fault != null && start <= fault[1] && start - w >= fault[0]) {
          judgedInFault++;
        }
      }
      long staleSince = staleSince(read, keyWrites, w);
      if (staleSince != Long.MAX_VALUE) {
        stale++;
        staleness.add(read.startNanos() - staleSince);
        timeline[(int) ((read.startNanos() - origin) / bucketNanos)]++;
      }
    }
    long[] sortedStaleness = staleness.stream().mapToLong(Long::longValue).sorted().toArray();
    long[] sortedLatency = Arrays.copyOf(latencies, n);
    Arrays.sort(sortedLatency);
    long[] sortedFaultLatency = Arrays.copyOf(faultLatencies, inFault);
    Arrays.sort(sortedFaultLatency);
    long max = sortedStaleness.length == 0 ? 0 : sortedStaleness[sortedStaleness.length - 1];
    List<History.Load> loads = history.loads();
    return new Report(scenario, reads.size(), history.writes().size(), stale, percentile(sortedStaleness, 0.5),
        percentile(sortedStaleness, 0.99), max, staleAfterQuiescence, lostWrites,
        reads.isEmpty() ? 100.0 : 100.0 * answered / reads.size(), percentile(sortedLatency, 0.99), timeline, byLevel,
        loads.size(), peakConcurrentLoads(loads), inFault == 0 ? 100.0 : 100.0 * answeredInFault / inFault,
        percentile(sortedFaultLatency, 0.99), FaultMeasures.Result.NONE, judged, judgedInFault, outsideFault,
        outsideFault == 0 ? 100.0 : 100.0 * answeredOutsideFault / outsideFault,
        answeredOutsideFault == 0 ? 0.0 : 100.0 * cacheHitsOutsideFault / answeredOutsideFault, afterFault,
        afterFault == 0 ? 0.0 : 100.0 * cacheHitsAfterFault / afterFault,
        faultWindow(fault, origin, end, reads.isEmpty()), 0);
  }

  /** The fault's active window in ms from the first read (an unhealed fault ends at the last read); null without. */
  private static Report.FaultWindow faultWindow(long[] fault, long origin, long lastReadStart, boolean noReads) {
    if (fault == null || noReads) {
      return null;
    }
    long end = fault[1] == Long.MAX_VALUE ? Math.max(lastReadStart, fault[0]) : fault[1];
    return new Report.FaultWindow(Math.floorDiv(fault[0] - origin, 1_000_000L), Math.floorDiv(end - origin, 1_000_000L));

  }

  /**
   * The first {@code limit} stale reads of a key each (in read order), each with the writes of its key around it, for
   * the log of a run that was not as expected: times in ms from the first read.
   */
  public static List<String> describeStaleReads(History history, Duration window, int limit) {
    return describeStaleReads(history, window, limit, true);
  }

  /** As {@link #describeStaleReads(History, Duration, int)}, skipping loader-answered reads unless judged. */
  public static List<String> describeStaleReads(History history, Duration window, int limit,
      boolean judgeLoadedReads) {
    long w = window.toNanos();
    Map<String, List<History.Write>> writesByKey = new HashMap<>();
    for (History.Write write : history.writes()) {
      writesByKey.computeIfAbsent(write.key(), k -> new ArrayList<>()).add(write);
    }
    writesByKey.values().forEach(list -> list.sort(Comparator.comparingLong(History.Write::commitNanos)));
    List<History.Read> reads = history.reads();
    reads.sort(Comparator.comparingLong(History.Read::startNanos));
    long origin = reads.isEmpty() ? 0 : reads.get(0).startNanos();
    List<String> lines = new ArrayList<>();
    java.util.Set<String> described = new java.util.HashSet<>();
    for (History.Read read : reads) {
      if (lines.size() >= limit) {
        break;
      }
      if (read.level() == History.Level.FAILED || described.contains(read.key())
          || !judgeLoadedReads && answeredByItsLoader(read)) {
        continue;
      }
      List<History.Write> writes = writesByKey.getOrDefault(read.key(), List.of());
      long since = staleSince(read, writes, w);
      if (since == Long.MAX_VALUE) {
        continue;
      }
      described.add(read.key());
      StringBuilder line = new StringBuilder(String.format(java.util.Locale.ROOT,
          "%s read %s at %.1f-%.1f ms on instance %d from %s, stale since %.1f ms; writes:", read.key(),
          read.version() == History.NOT_FOUND ? "not found" : "v" + read.version(), ms(read.startNanos() - origin),
          ms(read.endNanos() - origin), read.instance(), read.level(), ms(since - origin)));
      for (History.Write write : writes) {
        if (write.commitNanos() >= since - 5 * w && write.commitNanos() < read.endNanos() + w) {
          line.append(String.format(java.util.Locale.ROOT, " v%d%s@%.1f", write.version(),
              write.deleted() ? "(deleted)" : "", ms(write.commitNanos() - origin)));
        }
      }
      lines.add(line.toString());
    }
    return lines;
  }

  /**
   * A read the loader answered: level DATABASE, and its answer is what its own loader run returned (or that was not
   * recorded). A read that ran the loader and then answered another version (from L1 or L2, say after a refused fill)
   * is the cache's answer, and is judged.
   */
  private static boolean answeredByItsLoader(History.Read read) {
    return read.level() == History.Level.DATABASE
        && (read.loaded() == History.NO_LOAD || read.loaded() == read.version());
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** When the read's answer became stale (a commit time), or Long.MAX_VALUE if it is not stale. */
  private static long staleSince(History.Read read, List<History.Write> writes, long window) {
    long cutoff = read.startNanos() - window;
    if (read.version() != History.NOT_FOUND) {
      for (History.Write write : writes) {
        if (write.commitNanos() >= cutoff) {
          break; // sorted by commit time: the rest committed too recently to count
        }
        if (write.version() > read.version()) {
          return write.commitNanos();
        }
      }
      return Long.MAX_VALUE;
    }
    // The row's state before the cut-off is that of the newest version committed by then: commit times are taken
    // after the commit returned, so a writer descheduled there can record its commit after a later version's.
    History.Write last = null;
    for (History.Write write : writes) {
      if (write.commitNanos() < cutoff && (last == null || write.version() > last.version())) {
        last = write;
      }
    }
    if (last == null || last.deleted()) {
      return Long.MAX_VALUE;
    }
    long lastDeleteBefore = Long.MIN_VALUE;
    for (History.Write write : writes) {
      if (write.version() > last.version() && write.deleted() && write.sentNanos() <= read.endNanos()) {
        return Long.MAX_VALUE; // a newer delete the read may have seen: it was sent before the read ended
      }
      if (write.deleted() && write.version() < last.version()) {
        lastDeleteBefore = Math.max(lastDeleteBefore, write.version());
      }
    }
    // The row has been present since the earliest commit of the versions after the last delete before it.
    long presentSince = last.commitNanos();
    for (History.Write write : writes) {
      if (write.version() > lastDeleteBefore && write.version() <= last.version()) {
        presentSince = Math.min(presentSince, write.commitNanos());
      }
    }
    return presentSince;
  }

  /** The most loads of one key that ran at the same time (overlapping intervals). */
  static int peakConcurrentLoads(List<History.Load> loads) {
    Map<String, List<long[]>> edges = new HashMap<>();
    for (History.Load load : loads) {
      List<long[]> list = edges.computeIfAbsent(load.key(), k -> new ArrayList<>());
      list.add(new long[] {load.startNanos(), 1});
      list.add(new long[] {load.endNanos(), -1});
    }
    int peak = 0;
    for (List<long[]> list : edges.values()) {
      // ends before starts at the same instant: touching intervals do not overlap
      list.sort(Comparator.<long[]>comparingLong(e -> e[0]).thenComparingLong(e -> e[1]));
      int running = 0;
      for (long[] edge : list) {
        running += (int) edge[1];
        peak = Math.max(peak, running);
      }
    }
    return peak;
  }

  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p * sorted.length) - 1))];
  }
}
