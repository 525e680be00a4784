package dev.veracache;

/** Base of every exception Veracache throws. Messages name the cache (namespace) and the key concerned. */
public class VeracacheException extends RuntimeException {
  public VeracacheException(String message) {
    super(message);
  }

  public VeracacheException(String message, Throwable cause) {
    super(message, cause);
  }
}
