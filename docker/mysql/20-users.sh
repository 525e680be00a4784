#!/bin/bash
# Creates the two least-privilege users of docker-compose.yml. Run once by the mysql image's entrypoint, on an empty
# data directory, after 10-shop-schema.sql (files in /docker-entrypoint-initdb.d run in name order; a .sh that is not
# executable is sourced, so docker_process_sql, which connects as root over the socket, is available). The names and
# passwords come from the mysql service's environment (.env).
# No "set -e/-u" here: the file is sourced into the entrypoint, whose shell options it must not change.

for var in APP_DB_USER APP_DB_PASSWORD CDC_DB_USER CDC_DB_PASSWORD; do
  if [[ -z "${!var:-}" ]]; then
    echo "20-users.sh: $var is not set (see .env.example)" >&2
    exit 1
  fi
  if [[ "${!var}" == *"'"* ]]; then
    echo "20-users.sh: $var must not contain a single quote" >&2
    exit 1
  fi
done

docker_process_sql <<-EOSQL
	-- The application: data manipulation on the shop database only (no DDL, no other database, no global privilege).
	CREATE USER '${APP_DB_USER}'@'%' IDENTIFIED BY '${APP_DB_PASSWORD}';
	GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO '${APP_DB_USER}'@'%';

	-- The CDC sidecar (Debezium's MySQL connector, embedded). From Debezium's MySQL connector documentation, "Setting
	-- up MySQL / Creating a user": RELOAD, SHOW DATABASES, REPLICATION SLAVE (read the binlog) and REPLICATION CLIENT
	-- (SHOW BINARY LOGS, SHOW BINARY LOG STATUS) are global privileges; SELECT may be limited to the captured database.
	-- LOCK TABLES is not needed: the listener runs snapshot.mode=no_data with snapshot.locking.mode=none.
	CREATE USER '${CDC_DB_USER}'@'%' IDENTIFIED BY '${CDC_DB_PASSWORD}';
	GRANT RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${CDC_DB_USER}'@'%';
	GRANT SELECT ON shop.* TO '${CDC_DB_USER}'@'%';
	-- The listener's own readiness and progress marker rows (cdc-invalidator's README, "Database user"): it creates
	-- the table if needed and REPLACEs its row. Granted on the table alone; MySQL allows a grant on a table that does
	-- not exist yet when the privileges include CREATE.
	GRANT CREATE, INSERT, DELETE ON shop.veracache_cdc_marker TO '${CDC_DB_USER}'@'%';
EOSQL
