package dev.veracache;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Applies a batch of write-behind changes to the database, inside the transaction the {@link WriteBehindFlusher}
 * opened on {@code connection} (do not commit or close it). Use one JDBC batch.
 *
 * <p><b>Each change must be applied only if its version is above the row's</b>, and a delete must keep its version
 * (a soft delete, or a row of a tombstone table): the flusher delivers at least once, so a batch may be applied again
 * after a crash, and two clients' writes of a key may reach the log in either order. For MySQL/MariaDB, for example:
 *
 * <pre>{@code
 * INSERT INTO product (id, name, deleted, version) VALUES (?, ?, ?, ?)
 *   ON DUPLICATE KEY UPDATE name = IF(version < VALUES(version), VALUES(name), name),
 *                           deleted = IF(version < VALUES(version), VALUES(deleted), deleted),
 *                           version = GREATEST(version, VALUES(version))   -- last: the IFs read the old version
 * }</pre>
 *
 * <p>Errors: an {@link java.sql.SQLException} whose SQLState is a data exception (class 22) or an integrity constraint
 * violation (class 23), or any other exception, marks the batch as holding a record that can never be applied: the
 * flusher then applies the changes one by one and dead-letters the ones that fail. Every other SQLException (the
 * database down, a lock timeout, a missing table or grant) is retried with backoff, the log keeping everything.
 */
@FunctionalInterface
public interface WriteBehindWriter<K, V> {

  void write(Connection connection, List<WriteBehindChange<K, V>> changes) throws SQLException;
}
