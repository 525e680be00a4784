#!/usr/bin/env bash
# Registers (or updates) the Debezium MySQL connector "shop" on this Kafka Connect worker, for Veracache's Kafka mode:
# the binlog of the compose MySQL goes to the topics shop (schema changes) and shop.shop.<table> (row changes), six
# partitions each, keyed by primary key. Run in the background by the kafka-connect service of docker-compose.yml
# (profile kafka); the credentials come from its environment and are never printed. PUT .../config is idempotent.
set -euo pipefail

until curl --silent --fail --output /dev/null http://localhost:8083/connectors; do
  sleep 2
done

# The settings after "topic.creation" are what Veracache's mapping of events needs (KafkaSource.CONNECTOR_SETTINGS);
# poll.interval.ms=5 keeps commit-to-invalidation latency low (Debezium's default is 500 ms).
config=$(cat <<JSON
{
  "connector.class": "io.debezium.connector.mysql.MySqlConnector",
  "database.hostname": "mysql",
  "database.port": "3306",
  "database.user": "${CDC_DB_USER}",
  "database.password": "${CDC_DB_PASSWORD}",
  "database.server.id": "5401",
  "database.include.list": "shop",
  "topic.prefix": "shop",
  "snapshot.mode": "no_data",
  "snapshot.locking.mode": "none",
  "poll.interval.ms": "5",
  "schema.history.internal.kafka.bootstrap.servers": "kafka:9092",
  "schema.history.internal.kafka.topic": "shop-schema-history",
  "topic.creation.default.partitions": "6",
  "topic.creation.default.replication.factor": "1",
  "include.schema.changes": "true",
  "skipped.operations": "none",
  "bigint.unsigned.handling.mode": "precise",
  "decimal.handling.mode": "precise",
  "time.precision.mode": "adaptive_time_microseconds",
  "binary.handling.mode": "bytes"
}
JSON
)
until curl --silent --fail --output /dev/null -X PUT -H 'Content-Type: application/json' --data "$config" \
    http://localhost:8083/connectors/shop/config; do
  sleep 2
done
echo "connector shop registered"
