#!/usr/bin/env bash
# Make sure a Docker engine answers. Where none does and we may (root on Debian), install
# docker.io and start dockerd in the background; otherwise say exactly what to do.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "no Docker engine answers and this user cannot install one."
  log "Install Docker (https://docs.docker.com/engine/install/) and start it, or run as root on Debian."
  log "Container tests skip without Docker, except when CI is set, where they fail."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

# The Debian client is /usr/bin/docker; prefer it so client and engine versions match.
if ! engine_answers; then
  log "starting dockerd in the background (log: /var/log/modelrail-dockerd.log)"
  nohup dockerd >/var/log/modelrail-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_answers && break
    sleep 0.5
  done
fi

if ! engine_answers; then
  log "dockerd did not answer within 30 s; see /var/log/modelrail-dockerd.log"
  exit 1
fi
log "Docker engine is up: $(docker version --format '{{.Server.Version}}')"
