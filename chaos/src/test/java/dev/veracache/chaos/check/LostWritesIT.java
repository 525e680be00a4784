package dev.veracache.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.scenario.ScenarioCatalog;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.stack.DatabaseServer;
import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The lost-writes count ({@link LostWrites}) on a hand-made history against a real table in MariaDB: an acknowledged
 * write is lost when the database's version of its key is older; a later update, a later delete, or the row leaving
 * a SKU is not a loss; a delete is lost when the row is back at an older version.
 */
@ExtendWith(EmbeddedStackExtension.class)
class LostWritesIT {

  @Test
  void writesTheDatabaseHasAreNotLostEvenWhenALaterDeleteOrMoveFollowed(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    Workload workload = workload(db, "lw_kept", true);
    History history = new History();
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      Random random = new Random(3);
      record(history, workload.write(c, 0, random, Workload.Intent.UPSERT)); // k0 v2 (a SKU move: a0 gone, b0 v2)
      record(history, workload.write(c, 1, random, Workload.Intent.DELETE)); // k1 deleted at v2
      record(history, workload.write(c, 2, random, Workload.Intent.UPSERT)); // k2 v2
      record(history, workload.write(c, 2, random, Workload.Intent.DELETE)); // k2 deleted at v3: v2 is not lost
      record(history, workload.write(c, 3, random, Workload.Intent.DELETE)); // k3 deleted at v2...
      record(history, workload.write(c, 3, random, Workload.Intent.UPSERT)); // ...and inserted again at v3
    }
    assertThat(history.writes()).as("acknowledged writes, SKU keys included").hasSizeGreaterThan(6);

    assertThat(LostWrites.find(history, workload, "kept")).isEmpty();
    drop(db, workload.table);
  }

  @Test
  void aWriteWhoseVersionTheDatabaseDoesNotHaveIsLost(EmbeddedStack stack) throws Exception {
    DatabaseServer db = stack.database();
    Workload workload = workload(db, "lw_lost", false);
    History history = new History();
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      record(history, workload.write(c, 0, new Random(1), Workload.Intent.UPSERT)); // k0 v2, committed
    }
    // Acknowledged but not in the database (as a write-behind that lost it, or a database that lost a commit):
    history.write("k1", 2, System.nanoTime()); // an update of k1 to v2: k1 is still at v1
    history.write("k2", 2, System.nanoTime(), true); // a delete of k2 at v2: k2 is still there at v1
    history.write("k0", 1, System.nanoTime()); // an older write of k0: the database has v2, not a loss

    List<LostWrites.Lost> lost = LostWrites.find(history, workload, "lost");

    assertThat(lost).extracting(l -> l.write().key() + "@v" + l.write().version() + " db v" + l.committedVersion())
        .containsExactly("k1@v2 db v1", "k2@v2 db v1");
    assertThat(lost.get(1).toString()).isEqualTo("k2 delete at v2 acknowledged, database at v1");

    history.write("k9", 1, System.nanoTime()); // not a row of the table
    assertThatThrownBy(() -> LostWrites.find(history, workload, "lost")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no version for key k9");
    drop(db, workload.table);
  }

  private static Workload workload(DatabaseServer db, String table, boolean alternateKeys) throws Exception {
    Scenario scenario = ScenarioCatalog.parse(new ByteArrayInputStream(("""
        scenarios:
          - {id: l, title: L, fault: NONE, keys: 4, alternateKeys: %s, skuChangeFraction: 1.0,
             strategies: [VERACACHE_CACHE_ASIDE]}
        """.formatted(alternateKeys)).getBytes(StandardCharsets.UTF_8)), "test.yaml").scenarios().get(0);
    return new Workload(db, table, scenario);
  }

  private static void record(History history, Workload.Commit commit) {
    for (History.Write effect : commit.effects()) {
      history.write(effect.key(), effect.version(), System.nanoTime(), effect.deleted());
    }
  }

  private static void drop(DatabaseServer db, String table) throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table + ", " + table + "_seq");
    }
  }
}
