package dev.veracache.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Everything a scenario did, as the checker needs it: every read (which version it returned, when it started and
 * ended, which instance and which level answered) and every committed write (which version, when the commit
 * returned). Times are {@link System#nanoTime()} of one JVM. Thread-safe appends.
 */
public final class History {

  /**
   * Where a read was answered from. CACHE when the strategy cannot tell L1 from L2 (the public cache API does not
   * say); FAILED when the read got no answer.
   */
  public enum Level { CACHE, L1, L2, DATABASE, FAILED }

  /**
   * A read. {@code version} is -1 for "not found", and meaningless when {@code level} is FAILED (no answer).
   */
  public record Read(String key, long version, long startNanos, long endNanos, int instance, Level level) {}

  /** A committed write: the row now has {@code version}. {@code commitNanos} is when the commit returned. */
  public record Write(String key, long version, long commitNanos) {}

  private final ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();

  public void read(String key, long version, long startNanos, long endNanos, int instance, Level level) {
    reads.add(new Read(key, version, startNanos, endNanos, instance, level));
  }

  public void write(String key, long version, long commitNanos) {
    writes.add(new Write(key, version, commitNanos));
  }

  public List<Read> reads() {
    return new ArrayList<>(reads);
  }

  public List<Write> writes() {
    return new ArrayList<>(writes);
  }
}
