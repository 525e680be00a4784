package dev.veracache.internal;

import java.nio.charset.StandardCharsets;

/**
 * What one invalidation tells the fence in Redis ({@code invalidate.lua}; the rules are in {@code record.lua}), and how
 * two of them for one key merge while they wait to be retried.
 *
 * <ul>
 *   <li>{@link #changed(long)}: an insert or update produced row version {@code v}. Fills and sets below {@code v} are
 *       refused, and so is a "not found" fill (the row exists); a value at {@code v} or newer already cached stays.</li>
 *   <li>{@link #deleted(long)}: the row was deleted at version {@code v}. Every fill or set at or below {@code v} is
 *       refused (the floor is {@code v + 1}); a "not found" may be cached.</li>
 *   <li>{@link #unversioned()}: the version of the change is not known. The value is dropped whatever its version, the
 *       floor already in Redis is kept, and sets are not cached until a fill has stored the row again (nothing proves
 *       a set newer than a change of unknown version, for example a delete, R13).</li>
 * </ul>
 *
 * <p>The floor is an unsigned decimal: the floor of a delete at {@code Long.MAX_VALUE} is 2^63, which the scripts
 * compare exactly (as strings).
 *
 * <p>Internal: not part of the API; may change in any release.
 */
public final class Invalidation {

  /** The record kinds of record.lua: T latest change unknown, P the row exists, D the row was deleted. */
  private static final char UNKNOWN = 'T';
  private static final char EXISTS = 'P';
  private static final char DELETED = 'D';

  private static final Invalidation UNVERSIONED = new Invalidation(UNKNOWN, false, 0);

  private final char kind;
  private final boolean hasFloor;
  /** The lowest version that may still be stored, read as an unsigned long; only if hasFloor. */
  private final long floor;

  private Invalidation(char kind, boolean hasFloor, long floor) {
    this.kind = kind;
    this.hasFloor = hasFloor;
    this.floor = floor;
  }

  public static Invalidation unversioned() {
    return UNVERSIONED;
  }

  public static Invalidation changed(long version) {
    checkVersion(version);
    return new Invalidation(EXISTS, true, version);
  }

  public static Invalidation deleted(long version) {
    checkVersion(version);
    return new Invalidation(DELETED, true, version + 1); // Long.MAX_VALUE + 1 is 2^63, read unsigned
  }

  /** From the CDC listener's form: version -1 = unversioned. */
  public static Invalidation of(long version, boolean rowDeleted) {
    if (version == RedisRecord.NO_VERSION) {
      return UNVERSIONED;
    }
    return rowDeleted ? deleted(version) : changed(version);
  }

  private static void checkVersion(long version) {
    if (version < 0) {
      throw new IllegalArgumentException("version must be >= 0 (or -1 for none), was " + version);
    }
  }

  /**
   * Both at once, for a key with two pending invalidations: applying the merge refuses whatever either would refuse
   * but a "not found" fill after an unversioned change of an existing row (harmless: the fill's lease is taken after
   * the merge is applied, so it read the database after both changes). The higher floor wins; an unversioned one
   * makes the merge unversioned (drop any value, no proof for sets); at equal floors "the row exists" wins.
   */
  public Invalidation merge(Invalidation other) {
    if (kind == UNKNOWN || other.kind == UNKNOWN) {
      Invalidation higher = higherFloor(this, other);
      return new Invalidation(UNKNOWN, higher.hasFloor, higher.floor);
    }
    int c = Long.compareUnsigned(floor, other.floor);
    return c > 0 ? this : c < 0 ? other : kind == EXISTS ? this : other;
  }

  private static Invalidation higherFloor(Invalidation a, Invalidation b) {
    if (!a.hasFloor) {
      return b;
    }
    if (!b.hasFloor) {
      return a;
    }
    return Long.compareUnsigned(a.floor, b.floor) >= 0 ? a : b;
  }

  /** How many arguments {@link #scriptArgs} gives one key. */
  static final int SCRIPT_ARGS = 4;

  /** ARGV of invalidate.lua for one key: floor, tombstone lifetime, kind, drop-any-value. */
  byte[][] scriptArgs(long tombstoneTtlMillis) {
    return new byte[][] {
        ascii(hasFloor ? Long.toUnsignedString(floor) : "-1"),
        ascii(Long.toString(tombstoneTtlMillis)),
        {(byte) kind},
        {(byte) (kind == UNKNOWN ? '1' : '0')}};
  }

  /**
   * ARGV of flushed.lua (write-behind): floor, tombstone lifetime, kind, then the lifetimes a flushed value and a
   * flushed "not found" get.
   *
   * @throws IllegalStateException for an unversioned invalidation (a flush always has a version)
   */
  byte[][] flushedScriptArgs(long tombstoneTtlMillis, long valueTtlMillis, long notFoundTtlMillis) {
    if (kind == UNKNOWN) {
      throw new IllegalStateException("a write-behind flush fence needs a version: " + this);
    }
    return new byte[][] {
        ascii(Long.toUnsignedString(floor)),
        ascii(Long.toString(tombstoneTtlMillis)),
        {(byte) kind},
        ascii(Long.toString(valueTtlMillis)),
        ascii(Long.toString(notFoundTtlMillis))};
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return switch (kind) {
      case EXISTS -> "changed to version " + floor;
      case DELETED -> "deleted at version " + (floor - 1);
      default -> hasFloor ? "unversioned, floor " + Long.toUnsignedString(floor) : "unversioned";
    };
  }
}
