# Sourced by infra/kafka/kafka.sh and infra/keycloak/keycloak.sh: a local server started in the
# background and remembered by its pid file. The caller sets `pidfile` and `server_name` and
# defines `log`.

# Exit 0 when something accepts TCP connections on 127.0.0.1:<port>.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the pid of the server this script started, when it still runs.
running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid; pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

# TERM, up to 30 s for a clean exit (the broker flushes its log, Keycloak its database), then KILL.
stop() {
  local pid
  if ! pid="$(running_pid)"; then log "not running"; rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$server_name did not stop in 30s; killing it"; kill -KILL "$pid"; fi
  rm -f "$pidfile"
  log "stopped"
}
