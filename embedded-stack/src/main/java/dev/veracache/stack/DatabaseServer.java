package dev.veracache.stack;

import java.sql.Connection;
import java.sql.SQLException;

/** A MySQL-compatible server: the embedded MariaDB (binlog on, ROW, FULL image) or an external MySQL/MariaDB. */
public interface DatabaseServer extends ServerControls {

  String host();

  int port();

  /** {@code veracache} by default; created at start if missing. */
  String databaseName();

  String user();

  /** Possibly empty; never logged. */
  String password();

  /** A URL for mysql-connector-j to {@link #databaseName()}. */
  String jdbcUrl();

  /** A new connection to {@link #databaseName()}. */
  Connection connect() throws SQLException;
}
