package dev.veracache.chaos.workload;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.stack.DatabaseServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The scenario's rows and what a write does to them. Row {@code i} has primary key {@code k<i>} and a version that
 * grows with every change, deletes included: a per-key counter in a side table ({@code <table>_seq}) hands out the
 * next version under its row lock, so concurrent writers of one key get distinct, ordered versions and a re-inserted
 * row continues above the version of its delete.
 *
 * <p>Cache keys: {@code k<i>} (by primary key), and with {@link Scenario#alternateKeys()} also the row's SKU, which is
 * {@code a<i>} or {@code b<i>}; an update may move the row from one SKU to the other (race R11: the old SKU's key must
 * be invalidated too). A write returns every cache key it changed (what the checker needs) and the keys the
 * application invalidates itself: the primary key and the current SKU, never the SKU the row left, and nothing after
 * an insert (race R10: "nothing was cached for a row that did not exist", except the not-found entry).
 */
public final class Workload {

  /** What one committed write did. */
  public record Commit(long version, List<History.Write> effects, List<String> appInvalidates, boolean insert,
      long sentNanos) {

    Commit(long version, List<History.Write> effects, List<String> appInvalidates, boolean insert) {
      this(version, effects, appInvalidates, insert, 0);
    }

    /** This commit, sent to the database at {@code nanos} ({@link System#nanoTime()}). */
    Commit sentAt(long nanos) {
      return new Commit(version, effects, appInvalidates, insert, nanos);
    }

    /** Whether this commit deleted the row behind {@code key} (or the row left that SKU). */
    public boolean deleted(String key) {
      return effects.stream().anyMatch(e -> e.key().equals(key) && e.deleted());
    }
  }

  /**
   * What a writer asks of one write. ANY: a delete with probability {@link Scenario#deleteFraction()} if the row
   * exists, an insert if it is gone, an update otherwise. Write-through writers choose before the write, because the
   * cache call differs (put or delete): UPSERT inserts or updates; DELETE deletes the row, or deletes nothing when it
   * is already gone (the version is taken all the same). Delete-only writers always ask DELETE.
   */
  public enum Intent { ANY, UPSERT, DELETE }

  public final String table;
  private final DatabaseServer db;
  /** What {@link #load} reads: the database, or a replica of it (REPLICA_LAG). */
  private final DatabaseServer loadsFrom;
  private final Scenario scenario;

  public Workload(DatabaseServer db, String table, Scenario scenario) throws SQLException {
    this(db, db, table, scenario);
  }

  /** Writes and version checks go to {@code db}; the caches' loads ({@link #load}) read {@code loadsFrom}. */
  public Workload(DatabaseServer db, DatabaseServer loadsFrom, String table, Scenario scenario) throws SQLException {
    this.db = db;
    this.loadsFrom = loadsFrom;
    this.table = table;
    this.scenario = scenario;
    int keys = scenario.workload().keys();
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE OR REPLACE TABLE " + table + " (k VARCHAR(20) PRIMARY KEY, sku VARCHAR(20) NOT NULL UNIQUE, "
          + "version BIGINT NOT NULL)");
      s.execute("CREATE OR REPLACE TABLE " + table + "_seq (k VARCHAR(20) PRIMARY KEY, last BIGINT NOT NULL)");
      s.execute("INSERT INTO " + table + " SELECT CONCAT('k', seq), CONCAT('a', seq), 1 FROM seq_0_to_" + (keys - 1));
      s.execute("INSERT INTO " + table + "_seq SELECT CONCAT('k', seq), 1 FROM seq_0_to_" + (keys - 1));
    }
  }

  /** A cache key of row {@code row}: its primary key, or with alternate keys one of its three possible keys. */
  public String cacheKey(int row, Random random) {
    if (!scenario.workload().alternateKeys()) {
      return "k" + row;
    }
    return switch (random.nextInt(3)) {
      case 0 -> "k" + row;
      case 1 -> "a" + row;
      default -> "b" + row;
    };
  }

  /** The row behind a cache key: {@code k<row>}, or its SKU key {@code a<row>} or {@code b<row>}. */
  public static int rowOf(String cacheKey) {
    try {
      return Integer.parseInt(cacheKey.substring(1));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a cache key of the workload: " + cacheKey, e);
    }
  }

  /** Every cache key the scenario can touch. */
  public List<String> allCacheKeys() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < scenario.workload().keys(); i++) {
      keys.add("k" + i);
      if (scenario.workload().alternateKeys()) {
        keys.add("a" + i);
        keys.add("b" + i);
      }
    }
    return keys;
  }

  /** The version behind a cache key in the database loads read (a replica may lag), or {@link History#NOT_FOUND}. */
  public long load(String cacheKey) throws SQLException {
    String column = cacheKey.startsWith("k") ? "k" : "sku";
    try (Connection c = loadsFrom.connect();
         PreparedStatement ps = c.prepareStatement("SELECT version FROM " + table + " WHERE " + column + " = ?")) {
      ps.setString(1, cacheKey);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : History.NOT_FOUND;
      }
    }
  }

  /**
   * The version the database has committed for every cache key of the scenario, as the lost-writes count needs it
   * ({@code LostWrites}): for a key whose row is there, the row's version; for a key whose row is gone, the version of
   * the change that removed it, which is the row's sequence counter ({@code <table>_seq.last}: a delete takes the
   * next version there, in its own transaction, and so does a TRUNCATE). For a SKU the row left while it stayed, the
   * row's version (at least the version of the move). Read in one statement.
   */
  public java.util.Map<String, Long> committedVersions() throws SQLException {
    java.util.Map<String, Long> versions = new java.util.HashMap<>();
    try (Connection c = db.connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT q.k, q.last, t.version FROM " + table + "_seq q LEFT JOIN " + table
             + " t ON t.k = q.k")) {
      while (rs.next()) {
        String k = rs.getString(1);
        long last = rs.getLong(2);
        long rowVersion = rs.getLong(3);
        long committed = rs.wasNull() ? last : rowVersion;
        versions.put(k, committed);
        if (scenario.workload().alternateKeys()) {
          String row = k.substring(1);
          versions.put("a" + row, committed);
          versions.put("b" + row, committed);
        }
      }
    }
    return versions;
  }

  /**
   * One write of row {@code row} in one transaction on {@code c} (auto-commit off): a delete with probability
   * {@link Scenario#deleteFraction()}, an insert if the row is gone, an update otherwise (moving the SKU with
   * probability {@link Scenario#skuChangeFraction()} when alternate keys are on).
   */
  Commit write(Connection c, int row, Random random) throws SQLException {
    return write(c, row, random, Intent.ANY);
  }

  /** One write of row {@code row}, as {@code intent} asks (see {@link Intent}). */
  public Commit write(Connection c, int row, Random random, Intent intent) throws SQLException {
    String k = "k" + row;
    try {
      long version;
      try (PreparedStatement bump = c.prepareStatement("UPDATE " + table + "_seq SET last = last + 1 WHERE k = ?");
           PreparedStatement read = c.prepareStatement("SELECT last FROM " + table + "_seq WHERE k = ?")) {
        bump.setString(1, k);
        bump.executeUpdate();
        read.setString(1, k);
        try (ResultSet rs = read.executeQuery()) {
          rs.next();
          version = rs.getLong(1);
        }
      }
      String sku = null;
      try (PreparedStatement ps = c.prepareStatement("SELECT sku FROM " + table + " WHERE k = ?")) {
        ps.setString(1, k);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            sku = rs.getString(1);
          }
        }
      }
      Commit commit;
      if (intent == Intent.DELETE) {
        execute(c, "DELETE FROM " + table + " WHERE k = ?", k);
        commit = new Commit(version, effects(k, version, true, sku, null), appKeys(k, sku), false);
      } else if (sku == null) {
        String newSku = "a" + row;
        execute(c, "INSERT INTO " + table + " (k, sku, version) VALUES (?, ?, ?)", k, newSku, version);
        commit = new Commit(version, effects(k, version, false, null, newSku), List.of(), true);
      } else if (intent == Intent.ANY && random.nextDouble() < scenario.workload().deleteFraction()) {
        execute(c, "DELETE FROM " + table + " WHERE k = ?", k);
        commit = new Commit(version, effects(k, version, true, sku, null), appKeys(k, sku), false);
      } else {
        Scenario.WorkloadSpec spec = scenario.workload();
        String newSku = spec.alternateKeys() && random.nextDouble() < spec.skuChangeFraction()
            ? (sku.startsWith("a") ? "b" : "a") + row : sku;
        execute(c, "UPDATE " + table + " SET version = ?, sku = ? WHERE k = ?", version, newSku, k);
        commit = new Commit(version, effects(k, version, false, sku, newSku), appKeys(k, newSku), false);
      }
      long sent = System.nanoTime();
      c.commit();
      return commit.sentAt(sent);
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback); // the connection is gone: the write's own failure is the one to report
      }
      throw e;
    }
  }

  /** The keys the application itself invalidates after a write: the primary key, and the SKU it knows now. */
  private List<String> appKeys(String k, String sku) {
    return scenario.workload().alternateKeys() && sku != null ? List.of(k, sku) : List.of(k);
  }

  /**
   * R16: {@code TRUNCATE TABLE} while the writers run, as one change of every row. Under the locks of every sequence
   * row (writers wait at their first statement, before they touch the table) each row takes its next version; the
   * table is truncated; the versions commit. Every row counts as deleted at its version, sent just before the
   * TRUNCATE was sent and returned once the versions committed; the writers' next writes insert the rows again above
   * it.
   *
   * @return one delete per cache key of every row (with alternate keys, both its possible SKUs), at that time
   */
  public List<History.Write> truncate() throws SQLException {
    List<History.Write> deletes = new ArrayList<>();
    try (Connection locks = db.connect(); Connection ddl = db.connect()) {
      locks.setAutoCommit(false);
      try (Statement s = locks.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT k FROM " + table + "_seq FOR UPDATE")) {
          while (rs.next()) {
            // every sequence row locked: no write of the table can start until the commit below
          }
        }
        s.executeUpdate("UPDATE " + table + "_seq SET last = last + 1");
        List<String> keys = new ArrayList<>();
        List<Long> versions = new ArrayList<>();
        try (ResultSet rs = s.executeQuery("SELECT k, last FROM " + table + "_seq")) {
          while (rs.next()) {
            keys.add(rs.getString(1));
            versions.add(rs.getLong(2));
          }
        }
        long before = System.nanoTime();
        try (Statement truncate = ddl.createStatement()) {
          truncate.execute("TRUNCATE TABLE " + table);
        }
        locks.commit();
        long committed = System.nanoTime();
        for (int i = 0; i < keys.size(); i++) {
          String k = keys.get(i);
          deletes.add(new History.Write(k, versions.get(i), committed, true, before));
          if (scenario.workload().alternateKeys()) {
            String row = k.substring(1);
            deletes.add(new History.Write("a" + row, versions.get(i), committed, true, before));
            deletes.add(new History.Write("b" + row, versions.get(i), committed, true, before));
          }
        }
      } catch (SQLException | RuntimeException e) {
        try {
          locks.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      }
    }
    return deletes;
  }

  /** The history writes of one commit; commit times are filled in by the runner. */
  private List<History.Write> effects(String k, long version, boolean deleted, String oldSku, String newSku) {
    List<History.Write> effects = new ArrayList<>();
    effects.add(new History.Write(k, version, 0, deleted));
    if (scenario.workload().alternateKeys()) {
      if (oldSku != null && !oldSku.equals(newSku)) {
        effects.add(new History.Write(oldSku, version, 0, true)); // the row left this SKU (or is gone)
      }
      if (newSku != null) {
        effects.add(new History.Write(newSku, version, 0, false));
      }
    }
    return effects;
  }

  private static void execute(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }
}
