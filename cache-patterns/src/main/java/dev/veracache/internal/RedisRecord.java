package dev.veracache.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The layout of one cache entry in Redis: a short text header followed by the encoded value.
 *
 * <pre>
 *   V:&lt;version&gt;:&lt;payload bytes&gt;                 a cached value
 *   N:&lt;floor&gt;:                                    a cached "not found", filled under that floor
 *   T:&lt;floor&gt;:&lt;lease token&gt;:&lt;lease deadline ms&gt;    a tombstone and/or a fill lease; reads treat it as a miss
 *   P:&lt;floor&gt;:&lt;lease token&gt;:&lt;lease deadline ms&gt;    the same, after an insert or update to that version
 *   D:&lt;floor&gt;:&lt;lease token&gt;:&lt;lease deadline ms&gt;    the same, after a delete at floor - 1
 * </pre>
 *
 * <p>A floor is the lowest version that may still be stored. Version or floor {@code -1} means "unknown"; lease token
 * {@code 0} means "no lease". The full rules are in {@code record.lua}, which every script starts with. One key holds everything, so a
 * read is one plain {@code GET} and every fence check in {@code *.lua} is one atomic script on one key. The Lua
 * scripts parse the same layout: change both together.
 *
 * <p>Internal: not part of the API; may change in any release.
 */
public final class RedisRecord {

  public enum Kind { VALUE, NEGATIVE, TOMBSTONE }

  public static final long NO_VERSION = -1L;

  public final Kind kind;
  public final long version;
  /** The payload of a VALUE record; empty otherwise. */
  private final byte[] raw;
  private final int payloadOffset;

  private RedisRecord(Kind kind, long version, byte[] raw, int payloadOffset) {
    this.kind = kind;
    this.version = version;
    this.raw = raw;
    this.payloadOffset = payloadOffset;
  }

  /** Encodes a value record: the header and the payload in one array. */
  public static byte[] value(long version, byte[] payload) {
    byte[] header = ("V:" + version + ":").getBytes(StandardCharsets.US_ASCII);
    byte[] record = Arrays.copyOf(header, header.length + payload.length);
    System.arraycopy(payload, 0, record, header.length, payload.length);
    return record;
  }

  public static byte[] negative(long version) {
    return ("N:" + version + ":").getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Parses what {@code GET} returned.
   *
   * @throws IllegalArgumentException if the bytes are not a Veracache record (written by something else)
   */
  public static RedisRecord parse(byte[] raw) {
    if (raw.length < 4 || raw[1] != ':') {
      throw new IllegalArgumentException("not a Veracache record (" + raw.length + " bytes)");
    }
    Kind kind = switch (raw[0]) {
      case 'V' -> Kind.VALUE;
      case 'N' -> Kind.NEGATIVE;
      case 'T', 'P', 'D' -> Kind.TOMBSTONE;
      default -> throw new IllegalArgumentException("not a Veracache record: unknown kind '" + (char) raw[0] + "'");
    };
    long version = 0;
    boolean negativeNumber = false;
    int i = 2;
    if (raw[i] == '-') {
      negativeNumber = true;
      i++;
    }
    int digits = 0;
    for (; i < raw.length && raw[i] != ':'; i++) {
      byte b = raw[i];
      if (b < '0' || b > '9') {
        throw new IllegalArgumentException("not a Veracache record: bad version byte " + b);
      }
      digits++;
      if (digits > 19) {
        throw new IllegalArgumentException("not a Veracache record: version has more than 19 digits");
      }
      version = version * 10 + (b - '0'); // a floor of 2^63 (a delete at Long.MAX_VALUE) wraps: compare unsigned
    }
    if (i == raw.length || digits == 0) {
      throw new IllegalArgumentException("not a Veracache record: header has no version");
    }
    // As strict as record.lua's parse: what the scripts cannot parse, Java must not read as a record either (a
    // tombstone Java accepted but the scripts refused was served as a miss for ever, never reported or replaced).
    if (negativeNumber ? version != 1 || digits != 1 : digits > 1 && raw[2] == '0') {
      throw new IllegalArgumentException("not a Veracache record: the version is not canonical (-1, 0, or no leading "
          + "zero)");
    }
    if (kind == Kind.TOMBSTONE && !isTokenAndDeadline(raw, i + 1)) {
      throw new IllegalArgumentException("not a Veracache record: a tombstone's payload is not <token>:<deadline>");
    }
    return new RedisRecord(kind, negativeNumber ? -version : version, raw, i + 1);
  }

  /** {@code raw[from..]} is {@code <digits>:<digits>}, as record.lua requires of a tombstone. */
  private static boolean isTokenAndDeadline(byte[] raw, int from) {
    int colon = -1;
    for (int j = from; j < raw.length; j++) {
      if (raw[j] == ':' && colon < 0) {
        colon = j;
      } else if (raw[j] < '0' || raw[j] > '9') {
        return false;
      }
    }
    return colon > from && colon < raw.length - 1;
  }

  /** For a TOMBSTONE: whether a fill lease is recorded in it (token not "0"); it may have expired since. */
  public boolean leaseRecorded() {
    return kind == Kind.TOMBSTONE && !(raw.length > payloadOffset + 1 && raw[payloadOffset] == '0'
        && raw[payloadOffset + 1] == ':');
  }

  public byte[] payload() {
    return Arrays.copyOfRange(raw, payloadOffset, raw.length);
  }
}
