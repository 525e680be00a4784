package dev.veracache;

/**
 * A write-behind write that was not acknowledged (the log did not take it, or Redis could not give it a version), or
 * a write-behind cache or flusher that cannot start. The message names the cache, the key or the setting concerned.
 * A put that threw acknowledged nothing; like any timed-out write it may still be applied if the log took it after
 * all (a retry gets a newer version, so the last write still wins).
 */
public class WriteBehindException extends VeracacheException {
  public WriteBehindException(String message) {
    super(message);
  }

  public WriteBehindException(String message, Throwable cause) {
    super(message, cause);
  }
}
