#!/usr/bin/env bash
# Print the path of a working uv, installing it into .tools/ from PyPI when none is found.
# uv's own installer downloads from GitHub; PyPI's `uv` wheel works wherever pip does.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'ensure-uv: %s\n' "$*" >&2; }

if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
if [ -x .tools/bin/uv ]; then echo "$PWD/.tools/bin/uv"; exit 0; fi

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing python3-venv from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    log "python3 has no venv/ensurepip; install python3-venv (Debian) or uv (pip install uv)."
    exit 1
  fi
fi
log "installing uv into .tools/ from PyPI"
python3 -m venv .tools
.tools/bin/python -m pip install --quiet --disable-pip-version-check uv
echo "$PWD/.tools/bin/uv"
