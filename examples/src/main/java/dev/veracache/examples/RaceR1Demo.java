package dev.veracache.examples;

import dev.veracache.CacheAside;
import dev.veracache.CacheOptions;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.baseline.NaiveCacheAside;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.testing.CacheHooks;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Race R1, the stale fill, played on real servers: a reader misses and reads row v1 from the database; a writer
 * commits v2 and invalidates the key; then the reader's fill arrives. Played once with the textbook cache-aside and
 * once with Veracache's fenced cache-aside, each with a reader and a writer that stand for two JVMs. The reader is
 * held between its load and its fill by a hook, so the interleaving is exact.
 *
 * <p>Run: {@code ./mvnw -B -q -pl examples -am install -DskipTests exec:java} (see the top-level README).
 */
public final class RaceR1Demo {

  /** What the cache serves after the race, next to what the database holds. */
  public record Outcome(String strategy, String cached, String database) {
    public boolean stale() {
      return !cached.equals(database);
    }
  }

  private RaceR1Demo() {}

  public static void main(String[] args) throws Exception {
    System.out.println("Starting the embedded stack (MariaDB with binlog, Redis)...");
    try (EmbeddedStack stack = EmbeddedStack.start()) {
      List<Outcome> outcomes = play(stack);
      System.out.println();
      System.out.println("Race R1, stale fill: reader misses and reads v1; writer commits v2 and invalidates;");
      System.out.println("the reader's fill of v1 arrives last.");
      System.out.println();
      System.out.printf("  %-20s %-10s %-10s %s%n", "strategy", "cache", "database", "outcome");
      for (Outcome o : outcomes) {
        System.out.printf("  %-20s %-10s %-10s %s%n", o.strategy(), o.cached(), o.database(),
            o.stale() ? "STALE until the TTL expires" : "fresh (the late fill was refused)");
      }
      System.out.println();
    }
    System.out.println("Embedded stack stopped.");
  }

  /** Plays the race with both strategies; each in its own namespace and table. */
  public static List<Outcome> play(EmbeddedStack stack) throws Exception {
    return List.of(playNaive(stack), playFenced(stack));
  }

  static Outcome playNaive(EmbeddedStack stack) throws Exception {
    Row row = new Row(stack.database(), "r1_naive");
    HeldFill held = new HeldFill();
    String uri = stack.redis().uri();
    ValueCodec<String> codec = ValueCodec.utf8();
    try (NaiveCacheAside<String> reader = new NaiveCacheAside<>(uri, "r1-naive", codec, Duration.ofMinutes(10), held);
         NaiveCacheAside<String> writer = new NaiveCacheAside<>(uri, "r1-naive", codec, Duration.ofMinutes(10),
             CacheHooks.NONE)) {
      CompletableFuture<String> slowRead = CompletableFuture.supplyAsync(() -> {
        try {
          return reader.get("1", id -> row.read());
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      held.awaitReaderHeld();
      row.write("v2");
      writer.invalidate("1");
      held.release();
      slowRead.get(10, TimeUnit.SECONDS);
      return new Outcome("naive cache-aside", writer.get("1", id -> row.read()), row.read());
    }
  }

  static Outcome playFenced(EmbeddedStack stack) throws Exception {
    Row row = new Row(stack.database(), "r1_fenced");
    HeldFill held = new HeldFill();
    String uri = stack.redis().uri();
    try (Veracache readerJvm = Veracache.create(VeracacheOptions.builder(uri).clientName("reader").build());
         Veracache writerJvm = Veracache.create(VeracacheOptions.builder(uri).clientName("writer").build())) {
      CacheAside<String, String> reader = readerJvm.cacheAside(
          CacheOptions.<String, String>builder("r1-fenced", ValueCodec.utf8()).hooks(held).build());
      CacheAside<String, String> writer = writerJvm.cacheAside(
          CacheOptions.<String, String>builder("r1-fenced", ValueCodec.utf8()).build());
      CompletableFuture<String> slowRead = CompletableFuture.supplyAsync(() -> reader.get("1", id -> row.read()));
      held.awaitReaderHeld();
      row.write("v2");
      writer.invalidate("1");
      held.release();
      slowRead.get(10, TimeUnit.SECONDS);
      return new Outcome("Veracache fenced", writer.get("1", id -> row.read()), row.read());
    }
  }

  /** Holds the first fill between the load and the fill until released. */
  private static final class HeldFill implements CacheHooks {
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    @Override
    public void afterLoad(String redisKey) {
      if (held.getCount() == 0) {
        return;
      }
      held.countDown();
      try {
        if (!released.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the demo never released the reader");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    void awaitReaderHeld() throws InterruptedException {
      if (!held.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the reader never reached its fill");
      }
    }

    void release() {
      released.countDown();
    }
  }

  /** One row in its own table: the database side of the race. */
  private static final class Row {
    private final DatabaseServer db;
    private final String table;

    Row(DatabaseServer db, String table) throws SQLException {
      this.db = db;
      this.table = table;
      try (Connection c = db.connect(); Statement s = c.createStatement()) {
        s.execute("CREATE OR REPLACE TABLE " + table + " (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL)");
        s.execute("INSERT INTO " + table + " VALUES (1, 'v1')");
      }
    }

    String read() throws SQLException {
      try (Connection c = db.connect(); Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT name FROM " + table + " WHERE id = 1")) {
        return rs.next() ? rs.getString(1) : null;
      }
    }

    void write(String name) throws SQLException {
      try (Connection c = db.connect();
           PreparedStatement ps = c.prepareStatement("UPDATE " + table + " SET name = ? WHERE id = 1")) {
        ps.setString(1, name);
        ps.executeUpdate();
      }
    }
  }
}
