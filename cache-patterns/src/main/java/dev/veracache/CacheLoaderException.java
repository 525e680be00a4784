package dev.veracache;

/** The loader (the database read) failed; nothing was cached. The cause is the loader's exception. */
public class CacheLoaderException extends VeracacheException {
  public CacheLoaderException(String message, Throwable cause) {
    super(message, cause);
  }
}
