package dev.veracache.benchmarks.peers;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * What every peer of the side-by-side run gets, the same for all: 1,024 keys read in a fixed cycle, one 200-byte value,
 * a local cache bounded to 10,000 entries that keeps a value 5 minutes, a Redis entry that lives an hour (the miss
 * benchmarks' fresh keys 5 minutes), all on one embedded Redis 6.2 started per fork.
 *
 * <p>Invariants: {@link #KEYS} is a power of two (the cursor masks); {@link #value()} is the same 200 bytes for every
 * key and every peer; no peer's setup ends before each of its "hit" paths was checked to be the path it claims to be
 * (a local hit really in the local cache, an L2 hit really with the local cache empty or off).
 */
public final class Workload {

  /** Keys read in the hit benchmarks. */
  public static final int KEYS = 1024;
  /** Bytes of the one value every key holds. */
  public static final int VALUE_BYTES = 200;
  /** Local cache bound of every peer that has one. */
  public static final int LOCAL_MAXIMUM_SIZE = 10_000;
  /** Local (L1) lifetime of an entry, every peer. */
  public static final Duration LOCAL_TTL = Duration.ofMinutes(5);
  /** Redis lifetime of the prefilled entries (peers that set one). */
  public static final Duration REMOTE_TTL = Duration.ofHours(1);
  /** Redis lifetime of the miss benchmarks' fresh keys (peers that set one). */
  public static final Duration FILL_TTL = Duration.ofMinutes(5);

  private static final byte[] VALUE = valueOf(VALUE_BYTES);

  private Workload() {
  }

  /** The value of every key: 200 printable bytes (a small JSON-like row). */
  public static byte[] value() {
    return VALUE;
  }

  /** The i-th key, {@code 0 <= i < KEYS}. */
  public static String key(int i) {
    return "k" + i;
  }

  /** Every key, in cursor order. */
  public static String[] keys() {
    String[] keys = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = key(i);
    }
    return keys;
  }

  private static byte[] valueOf(int bytes) {
    byte[] value = new byte[bytes];
    Arrays.fill(value, (byte) 'x');
    byte[] head = "{\"id\":1,\"name\":\"a product name\",\"version\":1,\"pad\":\"".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, value, 0, head.length);
    value[bytes - 2] = '"';
    value[bytes - 1] = '}';
    return value;
  }

  /** Each benchmark thread's position in the key cycle (its own, so threads do not share a counter). */
  @State(Scope.Thread)
  public static class Cursor {
    private int next;

    /** The next key index, cycling through all {@link #KEYS}. */
    public int advance() {
      next = (next + 1) & (KEYS - 1);
      return next;
    }
  }

  /** A fresh-key counter for the miss benchmarks (per thread, so a key is never read twice by anyone). */
  @State(Scope.Thread)
  public static class FreshKeys {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private final String prefix = "t" + THREADS.incrementAndGet() + "-";
    private long next;

    /** A key no benchmark has read before in this fork. */
    public String next() {
      return "m" + prefix + (next++);
    }
  }
}
