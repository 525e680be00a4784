package dev.veracache.testing;

/**
 * <b>An unsupported test seam</b> (it may change or go in any release): callbacks at the points where cache races
 * happen. They let tests and chaos scenarios hold a thread at an exact point (with a latch) instead of sleeping and
 * hoping. Production code leaves them at {@link #NONE} ({@code CacheOptions.Builder.hooks}).
 *
 * <p>Each receives the full Redis key ({@code namespace:key}). A hook runs on the calling thread, inside the fenced
 * path; an exception thrown by a hook propagates to the caller and leaves nothing behind: no fill lease held, no L1
 * read ticket or single flight open, and after {@link #beforeVersionedSet} the key invalidated (the write committed).
 */
public interface CacheHooks {

  CacheHooks NONE = new CacheHooks() {};

  /**
   * A GET found a cached answer (a value or a cached "not found") in Redis, before it may go into L1 (race R7); also the
   * lease script's answer, for a key whose change was pushed since its last read (it skips the GET). Not called for a
   * miss: there is no answer to keep.
   */
  default void afterRedisRead(String redisKey) {}

  /** The loader returned, before the fill is attempted (races R1, R10, R12). */
  default void afterLoad(String redisKey) {}

  /** A write-through write committed, before the versioned set is sent (race R4). */
  default void beforeVersionedSet(String redisKey, long version) {}

  /**
   * A background refresh ({@code CacheOptions.Builder.refreshAfterWrite}) loaded the key, on a refresh thread, before it
   * renews the record (a new lifetime, a versioned set or an invalidation). A hook that throws makes the refresh do
   * nothing (counted as failed). A refresh that stores a newer version goes through the versioned set, so
   * {@link #beforeVersionedSet} runs then too, on the refresh thread.
   */
  default void afterRefreshLoad(String redisKey) {}

  /** A miss found another instance's lease and is about to wait for its value (race R9). */
  default void beforeLeaseWait(String redisKey) {}

  /**
   * The fence decided what became of the write this thread was about to make when {@link #afterLoad} (the fill),
   * {@link #beforeVersionedSet} (the versioned set) or {@link #afterRedisRead} (the answer into L1) ran: kept
   * ({@code accepted}) or refused. Lets a test prove that a write it held past a newer one was refused.
   */
  default void fenceDecided(String redisKey, boolean accepted) {}

  /**
   * This client's own fill or set was pushed back to it and dropped from L1, and its re-read from Redis found a cached
   * answer: on the re-read thread, before that answer goes back into L1. A change that lands while this is held must
   * win (race R7).
   */
  default void beforeL1Readmission(String redisKey) {}
}
