package dev.veracache;

/** An encoded value is larger than {@code CacheOptions.maxValueBytes}; it was not cached. */
public class ValueTooLargeException extends VeracacheException {
  public ValueTooLargeException(String message) {
    super(message);
  }
}
