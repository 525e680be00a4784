package dev.veracache;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/**
 * Applies flash-sale stock changes to the database, inside the {@link StockFlusher}'s transaction on
 * {@code connection} (do not commit or close it). Each entry is an item and how many units to add (negative: sold).
 * The flusher has already recorded every decrement's id in the same transaction, so each is applied exactly once;
 * the writer only adds:
 *
 * <pre>{@code
 * UPDATE stock SET quantity = quantity + ? WHERE item = ?
 * }</pre>
 */
@FunctionalInterface
public interface StockWriter {

  void add(Connection connection, Map<String, Long> unitsByItem) throws SQLException;
}
