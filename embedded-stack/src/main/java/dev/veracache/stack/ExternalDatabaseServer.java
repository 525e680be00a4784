package dev.veracache.stack;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;

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

  /** {@code mariadb} from the PATH; TLS is left to the client's and the server's defaults. */
  @Override
  public List<String> clientCommand() {
    return List.of("mariadb", "--host=" + config.dbHost, "--port=" + config.dbPort, "--user=" + config.dbUser,
        config.dbName);
  }

  @Override
  public String toString() {
    return "external database at " + config.dbHost + ":" + config.dbPort + " ("
        + (config.fromEnvironment ? "set by VERACACHE_DB_URL or veracache.db.url" : "StackConfig") + ", user "
        + config.dbUser + ")";
  }
}
