package dev.veracache.chaos.fault;

import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

/**
 * Child JVM for race R8 "write-behind crash": the common heap-queue write-behind (Redisson's and Ehcache's
 * write-behind), where {@code put} returns as soon as the write sits in an in-heap queue and a background thread
 * writes the database later. {@link WriteBehindProcess} runs it and kills it with SIGKILL; every acknowledged
 * write still in the queue at that moment is lost.
 *
 * <p>Protocol: configuration from system properties {@code veracache.writebehind.*} (see the constants), the database
 * password only from the environment variable {@value #PASSWORD_ENV} (absent means empty; never printed). A bad or
 * missing property exits with code {@value #EXIT_BAD_CONFIG} and a message on stderr naming it; any other start-up
 * failure exits with code {@value #EXIT_FAILED}. Once started it prints {@code READY}, then one line
 * {@code ACK <key> <version>} per put, flushed at once. Errors go to stderr. The JVM halts when its stdin reaches EOF,
 * so it never outlives the parent that holds the other end of the pipe.
 *
 * <p>Invariants: versions are per key, start at the committed version read at start-up and grow by one per put. A
 * write is queued before its ACK is printed, so an acknowledged write is either committed or in the heap. A drain
 * commits everything it took from the queue in one transaction ({@code UPDATE .. WHERE version < ?}, so versions
 * only grow and replays are harmless); a failed drain keeps its writes for the next one. Nothing else persists them.
 */
public final class HeapWriteBehindMain {

  static final String PROPERTY_PREFIX = "veracache.writebehind.";
  static final String JDBC_URL = PROPERTY_PREFIX + "jdbcUrl";
  static final String USER = PROPERTY_PREFIX + "user";
  static final String TABLE = PROPERTY_PREFIX + "table";
  static final String KEYS = PROPERTY_PREFIX + "keys";
  static final String PUTS_PER_SECOND = PROPERTY_PREFIX + "putsPerSecond";
  static final String FLUSH_INTERVAL_MILLIS = PROPERTY_PREFIX + "flushIntervalMillis";
  static final String SEED = PROPERTY_PREFIX + "seed";
  static final String PASSWORD_ENV = "VERACACHE_WRITEBEHIND_DB_PASSWORD";

  static final String READY = "READY";
  static final String ACK = "ACK";
  static final int EXIT_FAILED = 1;
  static final int EXIT_BAD_CONFIG = 2;

  static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
  static final long MAX_PACING_LAG_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Config config;
  private final String password;
  private final ConcurrentLinkedQueue<Write> queue = new ConcurrentLinkedQueue<>();
  /** Writes taken from the queue and not yet committed; the flusher thread's alone. Sorted: one lock order. */
  private final TreeMap<String, Long> pending = new TreeMap<>();
  private Connection flushConnection;

  private HeapWriteBehindMain(Config config, String password) {
    this.config = config;
    this.password = password;
  }

  /** A put waiting in the heap. */
  private record Write(String key, long version) {}

  /** The validated system properties. */
  record Config(String jdbcUrl, String user, String table, int keys, int putsPerSecond, long flushIntervalMillis,
      long seed) {

    static Config from(Properties properties) throws BadConfigException {
      String jdbcUrl = required(properties, JDBC_URL);
      if (jdbcUrl.toLowerCase(Locale.ROOT).contains("password")) {
        throw new BadConfigException(JDBC_URL + " must not carry a password; pass it in " + PASSWORD_ENV);
      }
      String table = required(properties, TABLE);
      if (!IDENTIFIER.matcher(table).matches()) {
        throw new BadConfigException(TABLE + " must be an SQL identifier ([A-Za-z_][A-Za-z0-9_]*), got '" + table
            + "'");
      }
      return new Config(jdbcUrl, required(properties, USER), table, positiveInt(properties, KEYS),
          positiveInt(properties, PUTS_PER_SECOND), positiveLong(properties, FLUSH_INTERVAL_MILLIS),
          parseLong(properties, SEED));
    }

    static String required(Properties properties, String name) throws BadConfigException {
      String value = properties.getProperty(name);
      if (value == null || value.isBlank()) {
        throw new BadConfigException(name + " is missing (-D" + name + "=...)");
      }
      return value.trim();
    }

    static long parseLong(Properties properties, String name) throws BadConfigException {
      String value = required(properties, name);
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new BadConfigException(name + " must be an integer, got '" + value + "'");
      }
    }

    static long positiveLong(Properties properties, String name) throws BadConfigException {
      long value = parseLong(properties, name);
      if (value <= 0) {
        throw new BadConfigException(name + " must be positive, got " + value);
      }
      return value;
    }

    static int positiveInt(Properties properties, String name) throws BadConfigException {
      long value = positiveLong(properties, name);
      if (value > Integer.MAX_VALUE) {
        throw new BadConfigException(name + " is too large: " + value);
      }
      return (int) value;
    }
  }

  /** A bad or missing property; the message names it. */
  static final class BadConfigException extends Exception {
    BadConfigException(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    Config config;
    try {
      config = Config.from(System.getProperties());
    } catch (BadConfigException e) {
      System.err.println("bad configuration: " + e.getMessage());
      System.exit(EXIT_BAD_CONFIG);
      return;
    }
    haltAtEndOfStdin();
    String password = System.getenv().getOrDefault(PASSWORD_ENV, "");
    HeapWriteBehindMain writeBehind = new HeapWriteBehindMain(config, password);
    long[] versions;
    try {
      versions = writeBehind.readVersions();
    } catch (SQLException | IllegalStateException e) {
      System.err.println("cannot read the versions of table " + config.table() + ": " + e.getMessage());
      System.exit(EXIT_FAILED);
      return;
    }
    writeBehind.startFlusher();
    System.out.println(READY);
    System.out.flush();
    writeBehind.putLoop(versions);
  }

  /** A daemon thread that halts the JVM when stdin ends: the parent died or let go of us. */
  static void haltAtEndOfStdin() {
    Thread watcher = new Thread(() -> {
      byte[] buffer = new byte[256];
      InputStream in = System.in;
      try {
        while (in.read(buffer) != -1) {
          // input is ignored; only its end matters
        }
      } catch (IOException e) {
        // a broken stdin is an ended one
      }
      Runtime.getRuntime().halt(0);
    }, "writebehind-stdin-watch");
    watcher.setDaemon(true);
    watcher.start();
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(config.jdbcUrl(), config.user(), password);
  }

  /** The committed version of k0..k{keys-1}; every key must have a row. */
  private long[] readVersions() throws SQLException {
    Map<String, Long> byKey = new HashMap<>();
    try (Connection c = connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT k, version FROM " + config.table())) {
      while (rs.next()) {
        byKey.put(rs.getString(1), rs.getLong(2));
      }
    }
    long[] versions = new long[config.keys()];
    for (int i = 0; i < versions.length; i++) {
      Long version = byKey.get(key(i));
      if (version == null) {
        throw new IllegalStateException("no row for key " + key(i) + " (" + KEYS + "=" + config.keys() + ")");
      }
      versions[i] = version;
    }
    return versions;
  }

  private static String key(int index) {
    return "k" + index;
  }

  private void startFlusher() {
    long intervalNanos = TimeUnit.MILLISECONDS.toNanos(config.flushIntervalMillis());
    Thread flusher = new Thread(() -> {
      long next = System.nanoTime();
      while (true) {
        next += intervalNanos;
        parkUntil(next);
        flushOnce();
      }
    }, "writebehind-flusher");
    flusher.setDaemon(true);
    flusher.start();
  }

  /** Drains the queue and commits the drained writes (coalesced per key) in one transaction. */
  private void flushOnce() {
    for (Write w = queue.poll(); w != null; w = queue.poll()) {
      pending.merge(w.key(), w.version(), Math::max);
    }
    if (pending.isEmpty()) {
      return;
    }
    try {
      if (flushConnection == null) {
        flushConnection = connect();
        flushConnection.setAutoCommit(false);
      }
      try (PreparedStatement update = flushConnection.prepareStatement(
          "UPDATE " + config.table() + " SET version = ? WHERE k = ? AND version < ?")) {
        for (Map.Entry<String, Long> write : pending.entrySet()) {
          update.setLong(1, write.getValue());
          update.setString(2, write.getKey());
          update.setLong(3, write.getValue());
          update.addBatch();
        }
        update.executeBatch();
      }
      flushConnection.commit();
      pending.clear();
    } catch (SQLException e) {
      System.err.println("flush of " + pending.size() + " keys failed, kept for the next flush: " + e.getMessage());
      closeQuietly(flushConnection);
      flushConnection = null;
    }
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException e) {
      // already broken
    }
  }

  /** Puts at the configured rate, forever: queue the write, then acknowledge it. */
  private void putLoop(long[] versions) {
    Random random = new Random(config.seed());
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / config.putsPerSecond();
    long next = System.nanoTime();
    while (true) {
      int index = random.nextInt(versions.length);
      long version = ++versions[index];
      String key = key(index);
      queue.add(new Write(key, version));
      System.out.println(ACK + " " + key + " " + version); // put() has returned
      System.out.flush();
      next += periodNanos;
      long now = System.nanoTime();
      if (now - next > MAX_PACING_LAG_NANOS) {
        next = now; // after a stall, resume the rate instead of bursting to catch up
      }
      parkUntil(next);
    }
  }

  static void parkUntil(long deadlineNanos) {
    for (long wait = deadlineNanos - System.nanoTime(); wait > 0; wait = deadlineNanos - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
  }
}
