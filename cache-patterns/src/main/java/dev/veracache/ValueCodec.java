package dev.veracache;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Turns cached values into bytes for Redis and back. Implementations must be thread-safe.
 *
 * <p>{@link #json(Class)} (Jackson) is the default choice; {@link #bytes()} passes raw bytes through for users who
 * serialize themselves.
 *
 * <p>A codec failure never fails a read or a write: a value that cannot be encoded (or is larger than
 * {@link CacheOptions.Builder#maxValueBytes maxValueBytes}) is not cached (a read returns it to its caller, a
 * write-through set invalidates the key instead); an entry in Redis that cannot be decoded is invalidated and the
 * loader is read. Each is logged, naming the cache and the key, and
 * counted ({@code veracache.codec.errors}, or {@code veracache.fills{result=too_large}}).
 */
public interface ValueCodec<V> {

  byte[] encode(V value) throws Exception;

  V decode(byte[] bytes) throws Exception;

  /** JSON through Jackson, with a mapper configured for cache use (unknown properties are ignored). */
  static <V> ValueCodec<V> json(Class<V> type) {
    return JsonValueCodec.of(type);
  }

  /** Raw bytes, passed through unchanged. */
  static ValueCodec<byte[]> bytes() {
    return new ValueCodec<>() {
      @Override
      public byte[] encode(byte[] value) {
        return value;
      }

      @Override
      public byte[] decode(byte[] bytes) {
        return bytes;
      }
    };
  }

  /** UTF-8 text. */
  static ValueCodec<String> utf8() {
    return new ValueCodec<>() {
      @Override
      public byte[] encode(String value) {
        return Objects.requireNonNull(value, "value must not be null").getBytes(StandardCharsets.UTF_8);
      }

      @Override
      public String decode(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
      }
    };
  }
}
