package dev.veracache;

/** A value could not be encoded or decoded by the cache's {@link ValueCodec}. */
public class CacheCodecException extends VeracacheException {
  public CacheCodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
