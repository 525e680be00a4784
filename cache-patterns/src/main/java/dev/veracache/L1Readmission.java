package dev.veracache;

import dev.veracache.internal.L2Failure;
import dev.veracache.testing.CacheHooks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a value this client filled or set itself back into one cache's L1 after its own push dropped it
 * ({@link OwnWriteRereads} says why the push comes, why it cannot be trusted, and how the re-read waits for it). The
 * value is re-read from Redis exactly as an L2 hit of {@code DefaultTieredCache} is, under the same conditions:
 * <ul>
 *   <li>the L1 ticket is taken on the re-read thread, after every push up to the write's own was applied and before
 *       the GET is sent, so a change whose push comes after it refuses or drops the answer (R7), and one whose push
 *       came before it is seen by the GET;</li>
 *   <li>nothing is re-read while invalidations may be missed (degraded), Redis cannot take invalidations, the CDC
 *       listener is behind, an invalidation of the key is still pending, or the key became a sibling shape's;</li>
 *   <li>only a value or a cached "not found" is kept; a tombstone, a lease or an unreadable record is not.</li>
 * </ul>
 * Counted in {@code veracache.l1.readmissions} ({@code result}: {@code stored}, {@code not_stored} when the record
 * was not a value or an invalidation overtook the re-read, {@code skipped} when a condition above held or Redis failed (the PING included),
 * {@code dropped} when the re-read queue was full).
 */
final class L1Readmission<V> {

  private static final Logger log = LoggerFactory.getLogger(L1Readmission.class);

  private final String namespace;
  private final OwnWriteRereads rereads;
  private final L1Store l1;
  private final RedisEntries<V> entries;
  private final InvalidationTracker tracker;
  private final PendingInvalidations pending;
  private final KeyShape shape;
  private final CacheMetrics metrics;
  private final CacheHooks hooks;

  L1Readmission(String namespace, OwnWriteRereads rereads, L1Store l1, RedisEntries<V> entries,
      InvalidationTracker tracker, PendingInvalidations pending, KeyShape shape, CacheMetrics metrics,
      CacheHooks hooks) {
    this.namespace = namespace;
    this.rereads = rereads;
    this.l1 = l1;
    this.entries = entries;
    this.tracker = tracker;
    this.pending = pending;
    this.shape = shape;
    this.metrics = metrics;
    this.hooks = hooks;
  }

  /**
   * Whether the re-read must not use Redis or L1 now: invalidations may be missed (degraded), Redis cannot take them,
   * the CDC listener is behind, or the key became a sibling shape's.
   */
  private boolean untrustedNow(String local) {
    return tracker.degraded || tracker.redisUnsafe || shape.signal.untrusted || shape.siblingPrefixOf(local) != null;
  }

  /** This client's own fill or set changed the key in Redis: its push will drop it from L1; re-read it then. */
  void afterOwnWrite(String local, String redisKey) {
    rereads.submit(new OwnWriteRereads.Reread() {
      @Override
      public void run() {
        readmit(local, redisKey);
      }

      @Override
      public void dropped() {
        metrics.l1ReadmissionsDropped.increment();
      }

      @Override
      public void skipped() {
        metrics.l1ReadmissionsSkipped.increment();
      }
    });
  }

  private void readmit(String local, String redisKey) {
    if (untrustedNow(local)) {
      metrics.l1ReadmissionsSkipped.increment(); // a cheap first look; the check that counts comes after the ticket
      return;
    }
    L1Store.ReadTicket ticket = l1.beginRead(local);
    try {
      // Again with the ticket taken, in the order DefaultTieredCache.readThroughRedis checks: a state that turns
      // untrusted after this check is refused by the ticket (its epoch, or its read start against the limit), one that
      // turned before it is seen here. (Checked only before the ticket, a listener that fell behind in between would
      // let an old Redis value in as a young answer.)
      if (untrustedNow(local) || (!pending.isEmpty() && !pending.settle(redisKey))) {
        metrics.l1ReadmissionsSkipped.increment(); // no push comes for a key whose invalidation is still pending
        return;
      }
      l1.takeChanged(local); // read from Redis now: the own write's push marked it, and its next miss may GET again
      Lookup<V> found = entries.read(redisKey);
      if (found instanceof Lookup.Hit<V> hit) {
        hooks.beforeL1Readmission(redisKey);
        if (l1.complete(ticket, hit.value())) {
          metrics.l1ReadmissionsStored.increment();
          return;
        }
      }
      metrics.l1ReadmissionsNotStored.increment();
    } catch (L2Failure e) {
      metrics.l1ReadmissionsSkipped.increment();
      log.debug("cache '{}': re-reading '{}' into L1 after this client's own write failed: {}", namespace, redisKey,
          e.getMessage());
    } catch (RuntimeException e) {
      metrics.l1ReadmissionsSkipped.increment(); // a throwing test hook, a codec: nothing kept, the thread lives on
      log.warn("cache '{}': re-reading '{}' into L1 after this client's own write failed", namespace, redisKey, e);
    } finally {
      l1.endRead(ticket);
    }
  }
}
