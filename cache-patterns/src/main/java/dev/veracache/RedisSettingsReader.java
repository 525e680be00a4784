package dev.veracache;

import dev.veracache.internal.RedisSettings;

/** Reads the Redis settings of {@link VeracacheOptions} for the internal Redis layer; see {@link RedisSettings}. */
final class RedisSettingsReader {
  private RedisSettingsReader() {}

  static RedisSettings read(VeracacheOptions o) {
    return new RedisSettings(o.redisUri, o.clientName, o.commandTimeout, o.breakerFailureRatePercent,
        o.breakerMinimumCalls, o.breakerWindowSize, o.breakerOpenDuration, o.meterRegistry);
  }
}
