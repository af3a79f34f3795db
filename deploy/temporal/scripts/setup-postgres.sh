#!/bin/sh
# One-shot schema setup (temporalio/admin-tools): creates the temporal and temporal_visibility
# databases if missing, then brings both schemas to the version of this admin-tools image.
# Safe to run again: setup-schema -v 0.0 and update-schema only apply what is missing.
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
export SQL_PASSWORD="${POSTGRES_PWD:?POSTGRES_PWD is required}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
tries=0
until nc -z -w 2 "${POSTGRES_SEEDS}" "${DB_PORT}"; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "PostgreSQL did not come up"; exit 1; }
  sleep 1
done

for db in "${DBNAME}" "${VISIBILITY_DBNAME}"; do
  temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
    -u "${POSTGRES_USER}" --db "$db" create || echo "database $db already exists"
done

temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
  -u "${POSTGRES_USER}" --db "${DBNAME}" setup-schema -v 0.0
temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
  -u "${POSTGRES_USER}" --db "${DBNAME}" update-schema -d "${SCHEMA_DIR}/temporal/versioned"

temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
  -u "${POSTGRES_USER}" --db "${VISIBILITY_DBNAME}" setup-schema -v 0.0
temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
  -u "${POSTGRES_USER}" --db "${VISIBILITY_DBNAME}" update-schema \
  -d "${SCHEMA_DIR}/visibility/versioned"

echo "PostgreSQL schemas are up to date"
