package dev.veracache.testing;

/**
 * <b>An unsupported test seam</b> (it may change or go in any release): callbacks at the points of a write-behind
 * flush where a crash matters, so tests hold or kill the flusher at an exact point instead of sleeping. Production code
 * leaves them at {@link #NONE} ({@code FlusherOptions.Builder.hooks}). A hook runs on the flusher's thread; an
 * exception it throws is handled like a failed batch (retried, nothing committed past it); an {@link Error} kills the
 * flusher thread, which stands for a crash (nothing after the hook runs).
 */
public interface FlusherHooks {

  FlusherHooks NONE = new FlusherHooks() {};

  /** The batch of {@code changes} changes is committed in the database; its offsets are not committed yet. */
  default void afterDatabaseCommit(int changes) {}
}
