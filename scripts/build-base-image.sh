#!/usr/bin/env bash
# Provide a Python base image for `docker build --build-arg BASE_IMAGE=...`.
#
# Real users build on the official python:X.Y-slim. Where no registry can be reached, we
# debootstrap a minimal Debian with python3 + python3-venv, put the host's CA bundle inside
# (so pip in `docker build` trusts the same proxies the host does) and `docker import` it.
#
# Usage: build-base-image.sh [PYTHON_VERSION]   (3.11 -> bookworm, 3.13 -> trixie)
# Prints the image reference to use on stdout. Idempotent: an existing image is reused.
set -euo pipefail

version="${1:-3.11}"
log() { printf 'build-base-image: %s\n' "$*" >&2; }

case "$version" in
  3.11) suite=bookworm ;;
  3.13) suite=trixie ;;
  *)
    log "no Debian release ships Python $version; use python:$version-slim from a registry,"
    log "or pick 3.11 (bookworm) or 3.13 (trixie) for a locally built base."
    exit 2 ;;
esac

official="python:${version}-slim"
local_ref="modelrail-base:${version}-${suite}"

if docker image inspect "$local_ref" >/dev/null 2>&1; then
  echo "$local_ref"; exit 0
fi
if [ "${MODELRAIL_TRY_PULL:-1}" = 1 ] && docker image inspect "$official" >/dev/null 2>&1; then
  echo "$official"; exit 0
fi
if [ "${MODELRAIL_TRY_PULL:-1}" = 1 ] && timeout 20 docker pull -q "$official" >/dev/null 2>&1; then
  echo "$official"; exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "cannot pull $official and building a local base needs root (debootstrap)."
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi

mirror="${MODELRAIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
rootfs="$(mktemp -d /tmp/modelrail-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $suite into $rootfs (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# The host's CA bundle: the network may intercept TLS with its own CA.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi
# Keep the image small: no apt lists, caches, docs or man pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

log "docker import -> $local_ref"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' \
  - "$local_ref" >/dev/null
echo "$local_ref"
