package dev.veracache;

/**
 * What one read of a key found in Redis, decoded: an answer to serve, or nothing to serve. (It replaces a nullable
 * {@code Optional}, whose {@code null}, empty and present meant miss, cached "not found" and value.)
 */
sealed interface Lookup<V> {

  /** A cached answer: {@code value}, or {@code null} for a cached "not found". */
  record Hit<V>(V value) implements Lookup<V> {}

  /**
   * Nothing to serve: no record, a tombstone, or a record that could not be read (reported and invalidated).
   * {@code leaseRecorded}: a fill lease is recorded in the tombstone (it may have expired since).
   */
  record Miss<V>(boolean leaseRecorded) implements Lookup<V> {}

  @SuppressWarnings("unchecked")
  static <V> Lookup<V> miss() {
    return (Lookup<V>) NO_LEASE;
  }

  @SuppressWarnings("unchecked")
  static <V> Lookup<V> leased() {
    return (Lookup<V>) LEASE;
  }

  Miss<?> NO_LEASE = new Miss<>(false);
  Miss<?> LEASE = new Miss<>(true);
}
