#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from their Go modules, once per machine, into a
# cache outside the clone. Nothing is downloaded but Go modules through the Go module proxy.
#
# k8s.io/kubernetes pins its staging modules (k8s.io/api, k8s.io/apiserver, …) at v0.0.0 with
# replace directives into ./staging, so `go install` cannot build it. A small consumer module
# that replaces every staging module with its published v0.X.Y release can.
#
# Usage: build.sh            prints the directory holding the binaries
# Env:   KUBE_VERSION        Kubernetes release (default below)
#        FLAGOPS_CACHE_DIR   cache root (default ~/.cache/flagops-data-store)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CACHE_ROOT="${FLAGOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flagops-data-store}"
OUT="$CACHE_ROOT/kube-$KUBE_VERSION"
BIN="$OUT/bin"

log() { printf '[control-plane build] %s\n' "$*" >&2; }

if [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -x "$BIN/kubectl" && -x "$BIN/helm" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build the local control plane"; exit 1; }
mkdir -p "$BIN" "$OUT/src"
# One build at a time per machine: parallel test runs wait for the first build.
exec 9>"$OUT/.lock"
flock 9
if [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -x "$BIN/kubectl" && -x "$BIN/helm" ]]; then
  echo "$BIN"
  exit 0
fi

MINOR="${KUBE_VERSION#v1.}"            # 36.3
SRC="$OUT/src"
cd "$SRC"

log "resolving k8s.io/kubernetes@$KUBE_VERSION"
# shellcheck source=kube-module.sh
source "$HERE/kube-module.sh"
# etcd's version is the one k8s.io/kubernetes requires; read it from the module's go.mod first.
write_kube_module "$SRC" "$KUBE_VERSION"
write_kube_module "$SRC" "$KUBE_VERSION" "go.etcd.io/etcd/server/v3 $KUBE_ETCD_VERSION"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO

export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
log "go mod tidy (first run downloads modules; this takes a few minutes)"
go mod tidy -e >&2

LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${MINOR%%.*}"
build() { # name package
  if [[ ! -x "$BIN/$1" ]]; then
    log "building $1 ($2)"
    go build -trimpath -pgo=off -ldflags "$LDFLAGS" -o "$BIN/$1.tmp" "$2" >&2
    mv "$BIN/$1.tmp" "$BIN/$1"
  fi
}
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build etcd go.etcd.io/etcd/server/v3
build kubectl k8s.io/kubernetes/cmd/kubectl
# helm pins its own client-go line; it gets a module of its own so that it never
# constrains the versions kube-apiserver is built with.
if [[ ! -x "$BIN/helm" ]]; then
  mkdir -p "$OUT/helm-src" && cd "$OUT/helm-src"
  [[ -f go.mod ]] || go mod init flagops.local/helm >&2
  printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > tools.go
  go get "helm.sh/helm/v3@$HELM_VERSION" >&2
  go mod tidy -e >&2
  build helm helm.sh/helm/v3/cmd/helm
fi
log "done: $BIN"
echo "$BIN"
