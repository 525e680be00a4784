package dev.veracache.chaos.check;

import dev.veracache.chaos.strategy.CacheUnderTest;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.Workload;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end-of-run comparison: once the workload stopped, the faults healed and the run reached quiescence, every cache
 * key of the workload is compared, level by level, with the database.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Every level is looked at directly.</b> Redis with a {@code GET} on a connection of its own, to the server
 *       itself (never through an instance, whose client or proxy a fault may have left broken); each instance's L1 with
 *       {@link CacheUnderTest#peekL1}, which does not load, does not go through {@code get} and does not ask Redis. So
 *       an L1 entry the instance distrusts right now, or that Redis no longer has, is still seen.</li>
 *   <li><b>A key is stale when any level holds a version other than the database's</b>: Redis, or the L1 of any
 *       instance; a cached "not found" for a row that exists, or a version for a row that is gone, included. A level
 *       that holds nothing (or only a tombstone) is never stale.</li>
 *   <li><b>Nothing unreadable is skipped.</b> A database that cannot be read, a Redis that does not answer or holds a
 *       value the strategy does not write, an L1 that cannot be looked at: each throws, naming the key and the level
 *       (and the instance), so the run ends in an error and is never reported clean.</li>
 *   <li>Reading changes nothing: no fill, no L1 entry, no lease.</li>
 * </ul>
 */
public final class QuiescenceComparison {

  private static final Logger log = LoggerFactory.getLogger(QuiescenceComparison.class);
  /** How long a GET may take before Redis counts as unreadable (a healed Redis answers in milliseconds). */
  static final Duration REDIS_TIMEOUT = Duration.ofSeconds(5);

  /** One key whose cached versions, in some level, differ from the database's. */
  public record StaleKey(String key, long database, Long redis, Map<Integer, Long> l1ByInstance) {
    @Override
    public String toString() {
      StringBuilder text = new StringBuilder(key).append(": database ").append(describe(database));
      if (redis != null) {
        text.append(", Redis ").append(describe(redis));
      }
      l1ByInstance.forEach((instance, version) ->
          text.append(", instance ").append(instance).append("'s L1 ").append(describe(version)));
      return text.toString();
    }

    private static String describe(long version) {
      return version == History.NOT_FOUND ? "not found" : "v" + version;
    }
  }

  private QuiescenceComparison() {}

  /**
   * Compares every cache key of {@code workload} in Redis (at {@code redisUri}, under {@code namespace}) and in each
   * instance's L1 with the database.
   *
   * @return the stale keys, each with what every level that differs holds
   * @throws IllegalStateException naming the key and the level (and instance) that could not be read
   */
  public static List<StaleKey> staleKeys(String redisUri, Workload workload, List<CacheUnderTest> instances,
      String namespace) {
    if (instances.isEmpty()) {
      throw new IllegalArgumentException("no cache instances to compare in namespace " + namespace);
    }
    RedisReader redis;
    try {
      redis = RedisReader.open(redisUri, REDIS_TIMEOUT);
    } catch (RuntimeException e) {
      throw new IllegalStateException("after quiescence, Redis could not be reached to compare namespace "
          + namespace + ": " + e.getMessage(), e);
    }
    try (redis) {
      List<StaleKey> stale = new ArrayList<>();
      for (String key : workload.allCacheKeys()) {
        StaleKey found = compare(key, redis, workload, instances, namespace);
        if (found != null) {
          log.info("stale after quiescence: {}", found);
          stale.add(found);
        }
      }
      return stale;
    }
  }

  private static StaleKey compare(String key, RedisReader redis, Workload workload,
      List<CacheUnderTest> instances, String namespace) {
    long database;
    try {
      database = workload.load(key);
    } catch (SQLException e) {
      throw new IllegalStateException("after quiescence, the database's version of " + key + " could not be read: "
          + e.getMessage(), e);
    }
    String redisKey = namespace + ":" + key;
    String raw;
    try {
      raw = redis.get(redisKey);
    } catch (RuntimeException e) {
      throw new IllegalStateException("after quiescence, Redis could not be read for " + key + " (" + redisKey + "): "
          + e.getMessage(), e);
    }
    Long inRedis;
    try {
      inRedis = instances.get(0).parseRedisValue(raw);
    } catch (RuntimeException e) {
      throw new IllegalStateException("after quiescence, Redis holds for " + key + " (" + redisKey + ") what this "
          + "strategy does not write: " + e.getMessage(), e);
    }
    Map<Integer, Long> staleL1 = new java.util.TreeMap<>();
    for (int i = 0; i < instances.size(); i++) {
      Long inL1;
      try {
        inL1 = instances.get(i).peekL1(key);
      } catch (Exception e) {
        throw new IllegalStateException("after quiescence, instance " + i + "'s L1 could not be read for " + key + ": "
            + e, e);
      }
      if (differs(inL1, database)) {
        staleL1.put(i, inL1);
      }
    }
    boolean redisStale = differs(inRedis, database);
    if (!redisStale && staleL1.isEmpty()) {
      return null;
    }
    return new StaleKey(key, database, redisStale ? inRedis : null, staleL1);
  }

  private static boolean differs(Long cached, long database) {
    return cached != null && cached != database;
  }
}
