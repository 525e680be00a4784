package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcOptions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** The listener's own connections to the captured server (markers, schema check, binlog list, JDBC state). */
final class Jdbc {

  private Jdbc() {}

  static Connection connect(CdcOptions options, String database) throws SQLException {
    return DriverManager.getConnection(DebeziumConfiguration.jdbcUrl(options, database), options.user(),
        options.password());
  }
}
