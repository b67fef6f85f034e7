#!/usr/bin/env bash
# Runs a single-node Apache Kafka (KRaft) broker on 127.0.0.1:9092 for development,
# tests and the demo. The jars come from Maven Central (pom.xml); nothing needs Docker.
#   infra/kafka/kafka.sh start   fetch jars if needed, format storage once, start, wait until ready
#                                (does nothing when a broker already answers or KAFKA_BROKERS points elsewhere)
#   infra/kafka/kafka.sh stop    stop the broker this script started, and wait for it to exit
#   infra/kafka/kafka.sh status  exit 0 when the broker answers
#   infra/kafka/kafka.sh fetch   fetch the jars only (fault tests run brokers of their own from them)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server_name=broker
# shellcheck source=../server-process.sh
source "$here/../server-process.sh"
cache="$here/.cache"
libs="$cache/libs"
data="${KAFKA_DATA_DIR:-$cache/data}"
pidfile="$cache/broker.pid"
logfile="$cache/broker.log"
port=9092
start_timeout="${KAFKA_START_TIMEOUT:-90}"

log() { printf 'kafka: %s\n' "$*" >&2; }



fetch_jars() {
  # Re-fetch only when pom.xml changed since the last fetch.
  local stamp="$libs/.pom.sha"
  local want; want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch the Kafka jars"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is required to run the Kafka broker"; exit 1; }
  log "fetching broker jars from Maven Central (once)"
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime >&2
  echo "$want" > "$stamp"
}

java_cmd() {
  java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -cp "$libs/*" "$@"
}

start() {
  if [[ -n "${KAFKA_BROKERS:-}" && "$KAFKA_BROKERS" != "127.0.0.1:$port" && "$KAFKA_BROKERS" != "localhost:$port" ]]; then
    log "KAFKA_BROKERS=$KAFKA_BROKERS is set; not starting a local broker"; return 0
  fi
  if pid="$(running_pid)"; then log "already running (pid $pid)"; return 0; fi
  # Idempotent for `npm test` and `npm start`: a broker that already answers is used as it is.
  if port_open "$port"; then log "a broker already answers on 127.0.0.1:$port; using it"; return 0; fi
  fetch_jars
  mkdir -p "$cache" "$data"
  local props="$cache/server.properties"
  { cat "$here/server.properties"; echo "log.dirs=$data"; } > "$props"
  if [[ ! -f "$data/meta.properties" ]]; then
    local cluster_id; cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid)"
    log "formatting KRaft storage in $data (cluster $cluster_id)"
    java_cmd kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$props" >/dev/null
  fi
  : > "$logfile"
  nohup bash -c "exec java -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j2.configurationFile='$here/log4j2.yaml' -cp '$libs/*' kafka.Kafka '$props'" \
    >>"$logfile" 2>&1 </dev/null &
  echo $! > "$pidfile"
  log "starting (pid $!, log $logfile)"
  local waited=0
  until port_open "$port" && grep -q "Transition from STARTING to STARTED" "$logfile"; do
    if ! running_pid >/dev/null; then log "broker exited during start-up; last lines of $logfile:"; tail -n 20 "$logfile" >&2; exit 1; fi
    if (( waited >= start_timeout * 5 )); then log "broker did not answer within ${start_timeout}s; see $logfile"; stop; exit 1; fi
    sleep 0.2; waited=$((waited + 1))
  done
  log "ready on 127.0.0.1:$port"
}


case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) port_open "$port" ;;
  fetch) fetch_jars ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
