package dev.veracache.stack;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** A MySQL or MariaDB server given by {@code VERACACHE_DB_URL}. */
final class ExternalDatabaseServer extends ExternalServer implements DatabaseServer {

  private final StackConfig config;

  ExternalDatabaseServer(StackConfig config) {
    super("the database at " + config.dbHost + ":" + config.dbPort);
    this.config = config;
  }

  @Override
  public String host() {
    return config.dbHost;
  }

  @Override
  public int port() {
    return config.dbPort;
  }

  @Override
  public String databaseName() {
    return config.dbName;
  }

  @Override
  public String user() {
    return config.dbUser;
  }

  @Override
  public String password() {
    return config.dbPassword;
  }

  @Override
  public String jdbcUrl() {
    return config.dbUrl;
  }

  @Override
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(config.dbUrl, config.dbUser, config.dbPassword);
  }

  @Override
  public String toString() {
    return "external database at " + config.dbHost + ":" + config.dbPort;
  }
}
