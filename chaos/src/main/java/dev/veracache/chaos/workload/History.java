package dev.veracache.chaos.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Everything a scenario did, as the checker needs it: every read (which version it returned, when it started and
 * ended, which instance and which level answered), every committed write (which version, whether the row is gone,
 * when the commit returned), every load of the database by a cache, and when the fault was active. Times are
 * {@link System#nanoTime()} of one JVM. Thread-safe appends.
 */
public final class History {

  /** The version a read returns when the row was not found. */
  public static final long NOT_FOUND = -1;
  /** A read that ran no loader, or whose loader's answer was not recorded. */
  public static final long NO_LOAD = Long.MIN_VALUE;

  /**
   * Where a read was answered from. L1 when neither Redis nor the database gave this read its answer (a single-flight
   * follower in the same JVM counts here too); L2 when Redis had the answer, or the read waited for another instance's
   * fill; DATABASE when this read ran the loader; CACHE when the strategy cannot tell; FAILED when it got no answer.
   */
  public enum Level { CACHE, L1, L2, DATABASE, FAILED }

  /**
   * A read. {@code version} is {@link #NOT_FOUND} for "not found", meaningless when {@code level} is FAILED.
   * {@code loaded} is what this read's own loader run answered last (a version or {@link #NOT_FOUND}), or
   * {@link #NO_LOAD} when it ran none or nobody recorded it: a read that ran the loader and then answered something
   * else answered from the cache, whatever its level says.
   */
  public record Read(String key, long version, long startNanos, long endNanos, int instance, Level level,
      long loaded) {

    /** A read whose loader answer was not recorded (hand-made histories). */
    public Read(String key, long version, long startNanos, long endNanos, int instance, Level level) {
      this(key, version, startNanos, endNanos, instance, level, NO_LOAD);
    }
  }

  /**
   * A committed write of a cache key: afterwards the row has {@code version}, or is gone ({@code deleted}; a delete
   * still takes the next version, so that a read of the old value is recognisably older). {@code commitNanos} is when
   * the commit returned; {@code sentNanos} when it was sent, the earliest instant the commit could have become visible
   * (a writer thread may be descheduled between the commit and taking the time, so the two can be far apart).
   */
  public record Write(String key, long version, long commitNanos, boolean deleted, long sentNanos) {

    public Write {
      if (sentNanos > commitNanos) {
        throw new IllegalArgumentException("a commit of " + key + " v" + version + " was sent (" + sentNanos
            + " ns) after it returned (" + commitNanos + " ns)");
      }
    }

    /** A write whose commit was sent when it returned (hand-made histories, and writes timed at one instant). */
    public Write(String key, long version, long commitNanos, boolean deleted) {
      this(key, version, commitNanos, deleted, commitNanos);
    }
  }

  /** One run of a cache's loader (a database read on behalf of the cache) for a key. */
  public record Load(String key, long startNanos, long endNanos) {}

  private final ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Load> loads = new ConcurrentLinkedQueue<>();
  private volatile long faultStartNanos;
  private volatile long faultEndNanos;

  public void read(String key, long version, long startNanos, long endNanos, int instance, Level level) {
    reads.add(new Read(key, version, startNanos, endNanos, instance, level));
  }

  /** A read that ran the loader, which answered {@code loaded} ({@link #NO_LOAD}: it ran none). */
  public void read(String key, long version, long startNanos, long endNanos, int instance, Level level, long loaded) {
    reads.add(new Read(key, version, startNanos, endNanos, instance, level, loaded));
  }

  public void write(String key, long version, long commitNanos) {
    write(key, version, commitNanos, false);
  }

  public void write(String key, long version, long commitNanos, boolean deleted) {
    writes.add(new Write(key, version, commitNanos, deleted));
  }

  /** A write whose commit was sent at {@code sentNanos} and returned at {@code commitNanos}. */
  public void write(String key, long version, long sentNanos, long commitNanos, boolean deleted) {
    writes.add(new Write(key, version, commitNanos, deleted, sentNanos));
  }

  public void load(String key, long startNanos, long endNanos) {
    loads.add(new Load(key, startNanos, endNanos));
  }

  /** The fault became active now. */
  public void faultStarted() {
    faultStartNanos = System.nanoTime();
  }

  /** The fault was healed now. */
  public void faultEnded() {
    faultEndNanos = System.nanoTime();
  }

  /** Records a fault window of given times (hand-made histories of tests). */
  public void faultWindow(long startNanos, long endNanos) {
    faultStartNanos = startNanos;
    faultEndNanos = endNanos;
  }

  /** The fault's active window [start, end], or null if no fault was recorded. */
  public long[] faultWindow() {
    long start = faultStartNanos;
    if (start == 0) {
      return null;
    }
    long end = faultEndNanos;
    return new long[] {start, end == 0 || end < start ? Long.MAX_VALUE : end};
  }

  public List<Read> reads() {
    return new ArrayList<>(reads);
  }

  public List<Write> writes() {
    return new ArrayList<>(writes);
  }

  public List<Load> loads() {
    return new ArrayList<>(loads);
  }
}
