#!/usr/bin/env bash
# Install the Debian packages the tests and the demo need, when missing and when we may.
# Usage: ensure-system-packages.sh COMMAND:PACKAGE ...   (e.g. make:make git:git)
set -euo pipefail
log() { printf 'ensure-system-packages: %s\n' "$*" >&2; }

missing=()
for pair in "$@"; do
  cmd="${pair%%:*}"; pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${missing[*]}. Install them with your package manager, then run make again."
  exit 1
fi
log "installing ${missing[*]} from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
