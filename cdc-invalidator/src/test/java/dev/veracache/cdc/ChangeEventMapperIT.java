package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the mapper emits for real row changes of the embedded MariaDB binlog (recorded just before they are applied):
 * versions of updates that did not bump the version, of deletes, of keys a row left, of primary-key changes.
 */
class ChangeEventMapperIT extends ListenerFixture {

  @BeforeEach
  void startListenerOnProductTable() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, sku VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
        + "NOT NULL, name VARCHAR(100) NOT NULL, version BIGINT NOT NULL)");
    startListener(options(InvalidationMappings.builder().table(qualified()).namespace(namespace)
        .key("{id}").key("sku:{sku}").version("version").add().build()).build(), recording);
  }

  /** Runs the statements and returns the invalidations they produced, once there are {@code count} of them. */
  private List<KeyInvalidation> emittedBy(int count, String... statements) throws Exception {
    int from = emitted.size();
    sql(statements);
    await().atMost(WITHIN).until(() -> emitted.size() >= from + count);
    return List.copyOf(emitted.subList(from, emitted.size()));
  }

  @Test
  void anUpdateThatDoesNotBumpTheVersionIsInvalidatedUnversioned() throws Exception {
    assertThat(emittedBy(2, "INSERT INTO " + table + " VALUES (1, 'S1', 'v1', 1)"))
        .containsExactly(invalidation("1", 1, false), invalidation("sku:S1", 1, false));
    await().atMost(WITHIN).until(() -> tombstoned("1", 1));
    redisCli.sync().set(namespace + ":1", "V:1:{\"name\":\"v1\"}"); // what a reader cached after the insert

    // A console fix: the row changed, its version did not. "At least as new" would keep v1 cached.
    assertThat(emittedBy(2, "UPDATE " + table + " SET name = 'fixed by hand' WHERE id = 1"))
        .containsExactly(invalidation("1", -1, false), invalidation("sku:S1", -1, false));
    await().atMost(WITHIN).until(() -> !String.valueOf(redisValue("1")).startsWith("V:"));

    // A version moved backwards is no bump either.
    assertThat(emittedBy(2, "UPDATE " + table + " SET name = 'restored', version = 0 WHERE id = 1"))
        .containsExactly(invalidation("1", -1, false), invalidation("sku:S1", -1, false));
    // A real bump stays versioned.
    assertThat(emittedBy(2, "UPDATE " + table + " SET name = 'v5', version = 5 WHERE id = 1"))
        .containsExactly(invalidation("1", 5, false), invalidation("sku:S1", 5, false));
  }

  @Test
  void aDeleteCarriesTheDeletedRowsVersionAndRowDeleted() throws Exception {
    emittedBy(2, "INSERT INTO " + table + " VALUES (1, 'S1', 'v3', 3)");
    assertThat(emittedBy(2, "DELETE FROM " + table + " WHERE id = 1"))
        .containsExactly(invalidation("1", 3, true), invalidation("sku:S1", 3, true));
  }

  @Test
  void aKeyTheRowLeftIsDeletedForThatKeyAtTheBeforeVersion() throws Exception {
    emittedBy(2, "INSERT INTO " + table + " VALUES (1, 'OLD', 'x', 1)");
    assertThat(emittedBy(3, "UPDATE " + table + " SET sku = 'NEW', version = 2 WHERE id = 1"))
        .containsExactly(invalidation("sku:OLD", 1, true), invalidation("1", 2, false),
            invalidation("sku:NEW", 2, false));
  }

  @Test
  void aPrimaryKeyChangeIsADeleteOfTheOldIdAndAnInsertOfTheNew() throws Exception {
    emittedBy(2, "INSERT INTO " + table + " VALUES (1, 'S1', 'x', 1)");
    assertThat(emittedBy(4, "UPDATE " + table + " SET id = 2, version = 2 WHERE id = 1"))
        .containsExactly(invalidation("1", 1, true), invalidation("sku:S1", 1, true),
            invalidation("2", 2, false), invalidation("sku:S1", 2, false));
  }
}
