package dev.veracache.cdc.internal;

import dev.veracache.internal.RedisInvalidator;
import dev.veracache.internal.RedisInvalidator.ProgressOutcome;
import java.util.List;

/**
 * The listener's side of the progress signal (race R18) and of the Redis data-loss check (R15).
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Progress is published only for what Redis took.</b> The engine thread calls {@link #publish} after the
 *       invalidations of every change up to a marker row were applied; the published time is when that marker was
 *       written, so every commit before it is invalidated.</li>
 *   <li><b>Every publish, and every applied batch ({@link #advance}), checks that Redis still holds the sequence number
 *       this listener wrote last</b>, in the same script that writes the next one: an invalidation lost with a
 *       restored snapshot is lost together with a sequence number written after it, so the next check sees it. A Redis that lost acknowledged data is reported once and nothing is
 *       published until the caller has made it whole ({@link #startOver} after flushing the namespaces).</li>
 *   <li>Right after a start (or {@link #startOver}) nothing is checked: a Redis that rolled back while no listener ran
 *       is not seen by this check (the first-start and flush-duty rules cover a lost position, not a rolled-back
 *       Redis).</li>
 * </ul>
 */
final class ProgressPublisher {

  private final RedisInvalidator invalidator;
  private final String listener;
  private final List<String> namespaces;
  /** This run of the listener: its own sequence key, so two instances of one name never read each other's. */
  private final String instance = Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
  private long lastSequence; // engine thread only

  ProgressPublisher(RedisInvalidator invalidator, String listener, List<String> namespaces) {
    this.invalidator = invalidator;
    this.listener = listener;
    this.namespaces = List.copyOf(namespaces);
  }

  /**
   * Publishes that every commit made more than {@code lagMillis} ago is applied.
   *
   * @throws dev.veracache.CacheUnavailableException if Redis did not answer: the caller retries
   */
  ProgressOutcome publish(long lagMillis) {
    long lag = Math.max(0, lagMillis);
    // A new sequence starts at a random number, so that an old snapshot of an earlier run cannot match by chance.
    long next = lastSequence == 0 ? java.util.concurrent.ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2)
        : lastSequence + 1;
    ProgressOutcome outcome = invalidator.publishProgress(listener, instance, namespaces, lastSequence, next, lag);
    if (outcome == ProgressOutcome.PUBLISHED) {
      lastSequence = next;
    }
    return outcome;
  }

  /**
   * After a batch without a marker: only checks that Redis still holds the sequence number written last, and writes
   * the next one. Nothing is checked before the first publish after a start.
   *
   * @throws dev.veracache.CacheUnavailableException if Redis did not answer: the caller retries
   */
  ProgressOutcome advance() {
    if (lastSequence == 0) {
      return ProgressOutcome.PUBLISHED;
    }
    ProgressOutcome outcome = invalidator.advanceSequence(listener, instance, lastSequence, lastSequence + 1);
    if (outcome == ProgressOutcome.PUBLISHED) {
      lastSequence++;
    }
    return outcome;
  }

  /** After Redis was made whole again: the next publish checks nothing and starts a new sequence. */
  void startOver() {
    lastSequence = 0;
  }
}
