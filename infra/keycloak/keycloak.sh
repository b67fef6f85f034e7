#!/usr/bin/env bash
# Runs a development Keycloak on 127.0.0.1:${KEYCLOAK_PORT:-8080} with the demo realm
# (realm-demo.json): machine clients of every token-endpoint auth method Keycloak offers over
# plain HTTP, events on, the jboss-logging listener writing success events at INFO, JSON console
# log in .cache/keycloak.log (the JVM's own stderr apart, in .cache/keycloak.stderr.log). The
# server comes from Maven Central (pom.xml); nothing needs Docker.
#   infra/keycloak/keycloak.sh start   fetch and unpack once, start (start-dev), wait until the realm answers
#   infra/keycloak/keycloak.sh stop    stop the server this script started, and wait for it to exit
#   infra/keycloak/keycloak.sh status  exit 0 when the demo realm answers
# Admin: admin/admin unless KEYCLOAK_ADMIN / KEYCLOAK_ADMIN_PASSWORD (used on the first start only:
# Keycloak keeps its H2 database in .cache/server/data; delete .cache/server to start afresh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server_name=Keycloak
# shellcheck source=../server-process.sh
source "$here/../server-process.sh"
cache="$here/.cache"
dist="$cache/dist"
server="$cache/server"
pidfile="$cache/keycloak.pid"
logfile="$cache/keycloak.log"
# The JVM's own complaints (stack traces of uncaught exceptions, deprecation warnings) go to
# stderr. Kept apart from the JSON log: written to one file, they interleaved with it mid-line
# and broke JSON lines that tests and `tokenwatch produce --follow` read.
errfile="$cache/keycloak.stderr.log"
realm_stamp="$server/data/.realm-demo.sha256"
port="${KEYCLOAK_PORT:-8080}"
realm=demo
start_timeout="${KEYCLOAK_START_TIMEOUT:-300}"
version="$(sed -n 's:.*<keycloak.version>\(.*\)</keycloak.version>.*:\1:p' "$here/pom.xml")"

log() { printf 'keycloak: %s\n' "$*" >&2; }

realm_answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/realms/$realm/.well-known/openid-configuration" 2>/dev/null; }


# Keycloak 26 needs Java 21+; the machine's default `java` may be older.
java_major() { "$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'; }
find_java_home() {
  local candidate major
  for candidate in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/*; do
    [[ -x "$candidate/bin/java" ]] || continue
    major="$(java_major "$candidate")"
    if [[ -n "$major" ]] && (( major >= 21 )); then echo "$candidate"; return 0; fi
  done
  return 1
}

fetch_server() {
  # Re-fetch and re-unpack only when the version in pom.xml changed.
  local stamp="$server/.version"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then return 0; fi
  local zip="$dist/keycloak-quarkus-dist-$version.zip"
  if [[ ! -f "$zip" ]]; then
    command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch the Keycloak distribution"; exit 1; }
    log "fetching keycloak-quarkus-dist $version from Maven Central (once)"
    mvn -q -B -f "$here/pom.xml" dependency:copy \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$version:zip" -DoutputDirectory="$dist" >&2
  fi
  rm -rf "$server" "$cache/unpack"
  mkdir -p "$cache/unpack"
  unzip -q "$zip" -d "$cache/unpack"
  mv "$cache/unpack/keycloak-$version" "$server"
  rmdir "$cache/unpack"
  echo "$version" > "$stamp"
}

# Waits until the demo realm answers; fails when the server exits or start_timeout passes.
wait_ready() {
  local waited=0
  until realm_answers; do
    if ! running_pid >/dev/null; then log "Keycloak exited during start-up; last lines of $logfile:"; tail -n 20 "$logfile" "$errfile" >&2; exit 1; fi
    if (( waited >= start_timeout * 2 )); then log "Keycloak did not answer within ${start_timeout}s; see $logfile"; stop; exit 1; fi
    sleep 0.5; waited=$((waited + 1))
  done
  echo $((waited / 2))
}

start() {
  # Idempotent: a server this script started is waited for (it may still be starting), not restarted.
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
    wait_ready >/dev/null
    return 0
  fi
  if port_open "$port"; then log "something already answers on 127.0.0.1:$port; set KEYCLOAK_PORT to use another port"; exit 1; fi
  local java_home
  java_home="$(find_java_home)" || { log "Java 21+ is required (JAVA_HOME or /usr/lib/jvm/*); found none"; exit 1; }
  fetch_server
  # --import-realm skips a realm the database already has: when realm-demo.json changed since the
  # database was made (or it predates this check), start with a fresh database so it is imported.
  local realm_sum; realm_sum="$(sha256sum "$here/realm-demo.json" | cut -d' ' -f1)"
  if [[ -d "$server/data/h2" && "$(cat "$realm_stamp" 2>/dev/null)" != "$realm_sum" ]]; then
    log "realm-demo.json changed since the database was made: starting with a fresh database"
    rm -rf "$server/data/h2" "$server/data/transaction-logs"
  fi
  mkdir -p "$server/data/import"
  cp "$here/realm-demo.json" "$server/data/import/realm-demo.json"
  : > "$logfile"; : > "$errfile"
  # The admin is created on the first start only (an existing database keeps its own).
  # --add-opens java.lang: on Java 24+ jboss-threads needs it to reset thread-locals; without
  # it Quarkus executor threads die with IllegalAccessError as they start tasks (seen on
  # Temurin 25, the JDK these machines have, as "Exception in thread executor-thread-N").
  JAVA_HOME="$java_home" \
  JAVA_OPTS_APPEND="--add-opens=java.base/java.lang=ALL-UNNAMED" \
  KC_BOOTSTRAP_ADMIN_USERNAME="${KEYCLOAK_ADMIN:-admin}" \
  KC_BOOTSTRAP_ADMIN_PASSWORD="${KEYCLOAK_ADMIN_PASSWORD:-admin}" \
  nohup "$server/bin/kc.sh" start-dev \
    --http-host=127.0.0.1 --http-port="$port" \
    --proxy-headers=xforwarded --proxy-trusted-addresses=127.0.0.0/8,::1 \
    --import-realm \
    --log=console --log-console-output=json \
    --spi-events-listener-jboss-logging-success-level=info \
    >>"$logfile" 2>>"$errfile" </dev/null &
  echo $! > "$pidfile"
  log "starting Keycloak $version (pid $!, Java $(java_major "$java_home") from $java_home, log $logfile)"
  local waited
  waited="$(wait_ready)"
  echo "$realm_sum" > "$realm_stamp"
  log "ready on http://127.0.0.1:$port (realm $realm, admin console /admin) after ${waited}s"
}


case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) realm_answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
