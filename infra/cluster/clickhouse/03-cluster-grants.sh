#!/usr/bin/env bash
# Cluster mode only (docker-compose.cluster.yml mounts it after ../../clickhouse/01-roles.sql and
# 02-users.sh, on every node). Each tokenwatch table is a Distributed table in front of a
# shard-local <table>_local (shared/src/storage/cluster-ddl.ts), and the part of a read or insert
# that the node serves from its own shard runs on <table>_local with the connected user's rights.
# So every grant of 01-roles.sql on tokenwatch.<table> gets a twin on tokenwatch.<table>_local,
# derived here so that the two files cannot drift apart. The migrator also needs CLUSTER to run
# ON CLUSTER DDL.
(
  set -euo pipefail
  here="$(dirname "${BASH_SOURCE[0]}")"
  grants="$(sed -n 's/^\(GRANT .* ON tokenwatch\.\)\([a-z_]*\)\( TO .*\);$/\1\2_local\3;/p' "$here/01-roles.sql")"
  echo "03-cluster-grants.sh: granting on the shard-local tables"
  clickhouse-client --host 127.0.0.1 --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
    --multiquery --query "$grants
GRANT CLUSTER ON *.* TO tokenwatch_migrator;"
)
