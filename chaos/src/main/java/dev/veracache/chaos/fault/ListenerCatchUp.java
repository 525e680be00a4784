package dev.veracache.chaos.fault;

import dev.veracache.chaos.check.RedisReader;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quiescence with a CDC listener: waits, bounded, until the listener has applied every commit that was acknowledged
 * before the wait began, i.e. until it reached the binlog head as it stood then.
 *
 * <p>How the head is marked and seen: a commit of its own, a marker row ({@code quiescence-<n>}, never a cache key of
 * the workload) inserted into the workload's table, which the listener maps; the binlog puts it after every commit
 * that returned before it. The listener applies changes in binlog order (a batch after the one before, the
 * invalidations of a batch pipelined in order on one connection), so once the marker's invalidation is in Redis (its
 * key holds a record; nothing but the listener writes that key), every commit before the marker has been applied too.
 * Seen in Redis, this holds for a listener in this JVM and in its own alike, and does not depend on how often the
 * listener publishes its progress (the CDC_NO_LOSS_CHECK baseline does not in a run). A listener that skipped events
 * (FORGETFUL_CDC) still reaches the marker; one that cannot (stopped, stuck, Redis refusing) makes the wait fail.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Returns only once a marker's invalidation is in Redis</b>, a marker committed after every commit
 *       acknowledged before the call.</li>
 *   <li><b>Bounded:</b> after {@code timeout} it throws, naming the listener, the marker, the binlog position (GTID)
 *       after the marker and how the listener stands. A listener that stopped (its JVM exited, it failed) fails the
 *       wait at once, with its state, instead of waiting out the timeout.</li>
 *   <li><b>A marker record removed after it was applied cannot hang the wait:</b> a flush of the namespace (the
 *       listener making Redis whole after a data loss) may delete it before it is seen, so a new marker is committed
 *       every {@link #REMARK_INTERVAL}; any marker seen proves the first one's predecessors applied.</li>
 *   <li>The marker rows are not cache keys of the workload ({@link Workload#allCacheKeys()}), nor in the history,
 *       nor in the sequence table: they change neither the comparison nor the lost-writes count. They go with the
 *       table.</li>
 * </ul>
 */
public final class ListenerCatchUp {

  private static final Logger log = LoggerFactory.getLogger(ListenerCatchUp.class);
  /** How long quiescence waits at most for the listener to reach the binlog head: generous, a catch-up takes ms. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);
  static final String MARKER_PREFIX = "quiescence-";
  private static final Duration REMARK_INTERVAL = Duration.ofSeconds(3);
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final AtomicInteger MARKERS = new AtomicInteger();

  /** What the wait needs to know about the listener beyond Redis: its name, whether it stopped, how it stands. */
  interface Listener {
    String name();

    /** Why the listener is not running any more (its JVM exited, it failed), or null while it runs. */
    String stoppedBecause();

    /** How it stands, for a message (state, last output lines). */
    String describe();
  }

  private ListenerCatchUp() {}

  /**
   * Commits a marker after everything acknowledged so far and waits until the listener has applied it.
   *
   * @return how long the catch-up took
   * @throws IllegalStateException if the listener stopped, or did not apply the marker within {@code timeout}
   * @throws SQLException if the marker cannot be committed
   */
  static Duration await(DatabaseServer db, String redisUri, String table, String namespace, Listener listener,
      Duration timeout) throws SQLException, InterruptedException {
    long started = System.nanoTime();
    long deadline = started + timeout.toNanos();
    List<String> markers = new ArrayList<>();
    String head = mark(db, table, markers);
    long remarkAt = System.nanoTime() + REMARK_INTERVAL.toNanos();
    RedisReader connection = null;
    String redisProblem = null;
    try {
      while (true) {
        String stopped = listener.stoppedBecause();
        if (stopped != null) {
          throw new IllegalStateException("CDC listener " + listener.name() + " stopped before it reached the binlog "
              + "head (marker " + markers.get(0) + ", " + head + "): " + stopped);
        }
        try {
          if (connection == null) {
            connection = RedisReader.open(redisUri, Duration.ofSeconds(1));
          }
          if (applied(connection, namespace, markers)) {
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            log.info("CDC listener {} reached the binlog head ({}) in {} ms", listener.name(), head, took.toMillis());
            return took;
          }
          redisProblem = null;
        } catch (RuntimeException e) {
          redisProblem = e.toString(); // retried until the deadline; named in the message if it is why we gave up
          if (connection != null) {
            connection.close();
            connection = null;
          }
        }
        long now = System.nanoTime();
        if (now - deadline >= 0) {
          throw new IllegalStateException("CDC listener " + listener.name() + " did not reach the binlog head within "
              + timeout.toMillis() + " ms: the invalidation of marker " + markers.get(0) + " (" + head + ") is not in"
              + " Redis (key " + namespace + ":" + markers.get(0) + (markers.size() > 1 ? ", nor of the later markers "
              + markers.subList(1, markers.size()) : "") + ")" + (redisProblem == null ? ""
              : "; Redis could not be read: " + redisProblem) + "; listener: " + listener.describe());
        }
        if (now - remarkAt >= 0) {
          mark(db, table, markers);
          remarkAt = now + REMARK_INTERVAL.toNanos();
        }
        TimeUnit.NANOSECONDS.sleep(POLL_NANOS); // polling a condition in Redis, bounded by the deadline
      }
    } finally {
      if (connection != null) {
        connection.close();
      }
    }
  }

  /** Commits a new marker row; returns the binlog position just after it (the head, for messages). */
  private static String mark(DatabaseServer db, String table, List<String> markers) throws SQLException {
    String marker = MARKER_PREFIX + MARKERS.incrementAndGet();
    try (Connection c = db.connect()) {
      c.setAutoCommit(true);
      try (PreparedStatement insert = c.prepareStatement(
          "INSERT INTO " + table + " (k, sku, version) VALUES (?, ?, 1)")) {
        insert.setString(1, marker);
        insert.setString(2, marker);
        insert.executeUpdate();
      }
      markers.add(marker);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@gtid_binlog_pos")) {
        return "binlog at GTID " + (rs.next() ? rs.getString(1) : "?");
      }
    } catch (SQLException e) {
      throw new SQLException("cannot commit the quiescence marker " + marker + " into " + table + ": "
          + e.getMessage(), e.getSQLState(), e.getErrorCode(), e);
    }
  }

  private static boolean applied(RedisReader redis, String namespace, List<String> markers) {
    for (String marker : markers) {
      if (redis.get(namespace + ":" + marker) != null) {
        return true;
      }
    }
    return false;
  }
}
