#!/usr/bin/env bash
# Creates the tokenwatch users from users.sql.in, one per role of 01-roles.sql, with passwords
# from the ClickHouse container's environment (docker-compose.yml passes them through):
#   CLICKHOUSE_MIGRATOR_PASSWORD, CLICKHOUSE_INGEST_PASSWORD, CLICKHOUSE_DETECTOR_PASSWORD,
#   CLICKHOUSE_NOTIFIER_PASSWORD, CLICKHOUSE_INVESTIGATOR_PASSWORD
# The official image runs (or, when not executable, sources) it after 01-roles.sql on the first
# start of an empty data volume, as CLICKHOUSE_USER. Only SHA-256 hashes of the passwords reach
# ClickHouse. A missing password stops the initialisation, and with it the container.
#
# In a subshell: when sourced, neither its shell options nor an `exit` reach the entrypoint.
(
  set -euo pipefail
  here="$(dirname "${BASH_SOURCE[0]}")"
  sql="$(sed '/^--/d' "$here/users.sql.in")"
  for role in migrator ingest detector notifier investigator; do
    var="CLICKHOUSE_${role^^}_PASSWORD"
    password="${!var:-}"
    if [[ -z "$password" ]]; then
      echo "02-users.sh: $var is not set; it is the password of tokenwatch_${role}_user" >&2
      exit 1
    fi
    hash="$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)"
    sql="${sql//\{${role}_sha256\}/$hash}"
  done
  echo "02-users.sh: creating the tokenwatch users"
  clickhouse-client --host 127.0.0.1 --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
    --multiquery --query "$sql"
)
