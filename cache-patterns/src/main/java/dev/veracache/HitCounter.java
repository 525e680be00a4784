package dev.veracache;

/**
 * The L1 hit counter: one padded slot per thread stripe, incremented with a plain (non-atomic) add. An atomic
 * increment (LongAdder's CAS) cost about 10% of an L1 hit against raw Caffeine with two threads; this costs a plain
 * store. Two threads that share a stripe and increment at the same instant can lose a count, so the count is exact
 * for one thread and may under-count slightly under contention: it is a metric, never a decision.
 */
final class HitCounter {

  private static final int STRIPES = 64; // a power of two
  private static final int PAD = 16; // longs per stripe: 128 bytes, so stripes do not share a cache line

  private final long[] slots = new long[STRIPES * PAD];

  @SuppressWarnings("deprecation") // Thread.getId: Thread.threadId() only exists from Java 19
  void increment() {
    slots[(int) (Thread.currentThread().getId() & (STRIPES - 1)) * PAD]++;
  }

  long sum() {
    long sum = 0;
    for (int i = 0; i < slots.length; i += PAD) {
      sum += slots[i];
    }
    return sum;
  }
}
