package dev.veracache;

import dev.veracache.internal.FenceProtocol.Lease;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A read split in two calls, for frameworks that look a key up and store what they loaded in separate calls (Spring's
 * {@code Cache.get(key)}, then {@code put(key, value)} once the method ran). {@link TieredCache#beginRead} answers
 * from L1 or Redis; on a miss it takes the key's fill lease, as {@link TieredCache#get} does, and the caller loads the
 * row itself, then calls {@link #fill} (or {@link #abandon} when it will not).
 *
 * <p>Invariants (they are {@link TieredCache#get}'s, split in two):
 * <ul>
 *   <li><b>Only the lease holder fills, and only if its lease survived</b>: an invalidation between
 *       {@code beginRead} and {@code fill} refuses the fill (R1, R10); a versioned fill older than the tombstone is
 *       refused too (R12).</li>
 *   <li><b>A miss that finds another's lease waits, bounded</b>, for that fill (R9); if it does not come, the read
 *       loads without filling ({@link #fill} stores nothing).</li>
 *   <li><b>A lease is given back or expires</b>: {@link #abandon} releases it at once; a read that neither fills nor
 *       abandons (its caller threw) leaves it to expire after {@code leaseTtl}, meanwhile other readers of the key
 *       wait at most {@code leaseWaitTimeout} and load without filling.</li>
 *   <li><b>A split fill never enters L1</b>: the key enters L1 at its next read, from Redis (this client's own fill
 *       would drop it from L1 at once anyway, see the module README).</li>
 *   <li>{@code fill} and {@code abandon} act once: later calls do nothing.</li>
 * </ul>
 */
public abstract sealed class SplitRead<V> permits SplitRead.Found, SplitRead.Missed {

  private SplitRead() {}

  /** True when the cache answered: {@link #value()} is the answer. False on a miss: load, then {@link #fill}. */
  public abstract boolean found();

  /**
   * The cached answer; {@code null} for a cached "not found".
   *
   * @throws IllegalStateException on a miss
   */
  public abstract V value();

  /**
   * Stores the value the caller loaded after the miss ({@code null}: the row was not found) through the fence. Does
   * nothing when the read found an answer, when another instance held the lease, or when Redis was bypassed.
   *
   * @return true if Redis stored it
   */
  public abstract boolean fill(V value);

  /** Gives the miss's fill lease back at once (the caller will not fill); nothing on a hit. */
  public abstract void abandon();

  static <V> SplitRead<V> found(V value) {
    return new Found<>(value);
  }

  /** A miss that must not fill: another instance held the lease, or Redis is bypassed. */
  static <V> SplitRead<V> uncached() {
    return new Missed<>(null, null);
  }

  static <V> SplitRead<V> leased(Misses<?, V> misses, Lease lease) {
    return new Missed<>(misses, lease);
  }

  static final class Found<V> extends SplitRead<V> {
    private final V value;

    private Found(V value) {
      this.value = value;
    }

    @Override
    public boolean found() {
      return true;
    }

    @Override
    public V value() {
      return value;
    }

    @Override
    public boolean fill(V value) {
      return false;
    }

    @Override
    public void abandon() {}
  }

  static final class Missed<V> extends SplitRead<V> {
    private final Misses<?, V> misses; // null: nothing to fill
    private final Lease lease;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Missed(Misses<?, V> misses, Lease lease) {
      this.misses = misses;
      this.lease = lease;
    }

    @Override
    public boolean found() {
      return false;
    }

    @Override
    public V value() {
      throw new IllegalStateException("a miss has no value: load it, then fill(value)");
    }

    @Override
    public boolean fill(V value) {
      return lease != null && closed.compareAndSet(false, true) && misses.fill(lease, value);
    }

    @Override
    public void abandon() {
      if (lease != null && closed.compareAndSet(false, true)) {
        misses.release(lease);
      }
    }

    @Override
    public String toString() {
      return lease == null ? "SplitRead[miss, no lease]" : "SplitRead[miss, lease on " + lease.key() + "]";
    }
  }
}
