#!/usr/bin/env bash
# Builds the Flux controllers the Flux end-to-end test runs (source-controller, kustomize-controller), from
# their Go modules, once per machine, into a cache outside the clone. Nothing is downloaded but Go modules
# through the Go module proxy.
#
# Each controller's go.mod replaces its own api module with ./api, so `go install` refuses it. A small consumer
# module per controller requires the controller and its api module at the same version and copies the
# controller's other replace directives. One module each: the two pin different versions of shared libraries.
#
# Usage: build-flux.sh            prints the directory holding the binaries; the CRDs are in ../crds
# Env:   FLUX_SOURCE_VERSION      source-controller release (default below: the Flux 2.7 line)
#        FLUX_KUSTOMIZE_VERSION   kustomize-controller release (default below: the Flux 2.7 line)
#        FLAGOPS_CACHE_DIR        cache root (default ~/.cache/flagops-data-store)
set -euo pipefail

SOURCE_VERSION="${FLUX_SOURCE_VERSION:-v1.7.3}"
KUSTOMIZE_VERSION="${FLUX_KUSTOMIZE_VERSION:-v1.7.3}"
CACHE_ROOT="${FLAGOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flagops-data-store}"
OUT="$CACHE_ROOT/flux-source-$SOURCE_VERSION-kustomize-$KUSTOMIZE_VERSION"
BIN="$OUT/bin"

log() { printf '[flux build] %s\n' "$*" >&2; }
built() {
  [[ -x "$BIN/source-controller" && -x "$BIN/kustomize-controller" ]] \
    && [[ -f "$OUT/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml" ]] \
    && [[ -f "$OUT/crds/source.toolkit.fluxcd.io_gitrepositories.yaml" ]]
}

if built; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build Flux"; exit 1; }
mkdir -p "$BIN" "$OUT/crds"
# One build at a time per machine: parallel runs wait for the first build.
exec 9>"$OUT/.lock"
flock 9
if built; then
  echo "$BIN"
  exit 0
fi
start=$(date +%s)
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0

# build_controller NAME VERSION: builds github.com/fluxcd/NAME@VERSION into $BIN/NAME and copies its CRDs.
build_controller() {
  local name=$1 version=$2 module="github.com/fluxcd/$1"
  local src="$OUT/src/$name"
  rm -rf "$src" && mkdir -p "$src" && cd "$src"   # generated afresh: nothing of an earlier attempt lingers
  log "resolving $module@$version"
  local info gomod dir go_line
  info=$(go mod download -json "$module@$version")
  gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
  dir=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")
  [[ -f "$gomod" && -d "$dir" ]] || { log "could not download $module@$version"; exit 1; }
  go_line=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -1)
  {
    echo "module flagops.local/$name"
    echo
    echo "go $go_line"
    echo
    echo "require ("
    echo "	$module $version"
    echo "	$module/api $version"
    echo ")"
    echo
    # The controller's replace directives (single lines and blocks), less the one into its own ./api.
    echo "replace ("
    awk '/^replace \($/ { inblock = 1; next }
         inblock && /^\)/ { inblock = 0; next }
         inblock { print; next }
         /^replace / { sub(/^replace /, "\t"); print }' "$gomod" | grep -v '=> \./'
    echo ")"
  } > go.mod
  cat > tools.go <<GO
//go:build tools

package tools

import _ "$module"
GO
  log "go mod tidy for $name (first run downloads modules; this takes a few minutes)"
  go mod tidy -e >&2
  log "building $name (long on a cold cache)"
  go build -trimpath -pgo=off -ldflags "-s -w" -o "$BIN/$name.tmp" "$module" >&2
  cp "$dir"/config/crd/bases/*.yaml "$OUT/crds/"
  chmod u+w "$OUT"/crds/*.yaml
  mv "$BIN/$name.tmp" "$BIN/$name"
}

[[ -x "$BIN/source-controller" ]] || build_controller source-controller "$SOURCE_VERSION"
[[ -x "$BIN/kustomize-controller" ]] || build_controller kustomize-controller "$KUSTOMIZE_VERSION"
built || { log "the build left no binaries or CRDs in $OUT"; exit 1; }
log "done in $(( $(date +%s) - start ))s: $BIN"
echo "$BIN"
