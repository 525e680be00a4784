package dev.veracache;

/** The writer (the database write) of a write-through cache failed; the cache was not changed. */
public class CacheWriterException extends VeracacheException {
  public CacheWriterException(String message, Throwable cause) {
    super(message, cause);
  }
}
