package dev.veracache.stack;

/** Compares Redis version strings such as {@code 6.2.11} or {@code 7.0.15}. */
final class RedisVersions {

  private RedisVersions() {}

  /**
   * True if {@code version} is at least {@code major.minor}.
   *
   * @throws IllegalArgumentException naming the version if it does not start with major.minor numbers
   */
  static boolean atLeast(String version, int major, int minor) {
    String[] parts = version.split("\\.");
    try {
      int actualMajor = Integer.parseInt(parts[0]);
      int actualMinor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
      return actualMajor > major || actualMajor == major && actualMinor >= minor;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a Redis version: '" + version + "'", e);
    }
  }
}
