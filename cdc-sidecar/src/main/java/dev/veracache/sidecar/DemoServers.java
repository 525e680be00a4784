package dev.veracache.sidecar;

import dev.veracache.spring.cdc.CdcConnectionDetails;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The servers of demo mode ({@code veracache.cdc.embedded-stack=true}): a MariaDB and a Redis started with the
 * sidecar, which the starter's listener uses instead of {@code veracache.cdc.database/redis/state-directory} (a
 * {@link CdcConnectionDetails} bean). Only the demo jar ({@code veracache-cdc-sidecar-<version>-demo.jar}) has an
 * implementation ({@link dev.veracache.sidecar.demo.DemoStackConfiguration}); the production jar ships no database.
 *
 * <p>Invariants: the servers are started before the listener and stopped only after it closed (the Spring context
 * stops lifecycles before it destroys beans, and the implementation has no JVM shutdown hook of its own); the state
 * directory is new at each start and deleted with the servers, so a demo never reads the position of an earlier demo's
 * database.
 */
public interface DemoServers extends CdcConnectionDetails {

  /** A connection to the demo database (where the demo table and {@code veracache.cdc.demo-schema} are created). */
  Connection connect() throws SQLException;
}
