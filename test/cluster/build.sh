#!/usr/bin/env bash
# Builds what a one-node cluster needs beyond the control plane (test/control-plane/build.sh), once per machine,
# into a cache keyed by every version: kubelet, kube-proxy, kube-controller-manager and kube-scheduler from
# k8s.io/kubernetes, containerd with its runc shim and ctr, runc (cgo, seccomp), the CNI plugins, CoreDNS, and a
# pause binary from ./pause. Everything comes from the Go module proxy; Debian supplies gcc, libseccomp-dev and
# pkg-config for runc.
#
# Usage: build.sh            prints the directory holding the binaries (control-plane binaries included)
# Env:   FLAGOPS_CACHE_DIR   cache root (default ~/.cache/flagops-data-store)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CONTAINERD_VERSION=v2.2.9
RUNC_VERSION=v1.4.4
CNI_VERSION=v1.9.1
COREDNS_VERSION=v1.14.7
CACHE_ROOT="${FLAGOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flagops-data-store}"
# Bump the trailing number when the build itself changes (flags, tags, the pause source).
OUT="$CACHE_ROOT/node-$KUBE_VERSION-containerd$CONTAINERD_VERSION-runc$RUNC_VERSION-cni$CNI_VERSION-coredns$COREDNS_VERSION-1"
BIN="$OUT/bin"
WANT=(kubelet kube-proxy kube-controller-manager kube-scheduler containerd containerd-shim-runc-v2 ctr runc
  bridge host-local loopback portmap coredns pause)

log() { printf '[cluster build] %s\n' "$*" >&2; }
complete() { local b; for b in "${WANT[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done; }

CP_BIN=$(bash "$HERE/../control-plane/build.sh")
link_control_plane() { local b; for b in kube-apiserver etcd kubectl helm; do ln -sf "$CP_BIN/$b" "$BIN/$b"; done; }

if complete; then link_control_plane; echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "Go is required"; exit 1; }
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists libseccomp 2>/dev/null || missing+=(libseccomp-dev)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "runc needs the Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})"
  exit 1
fi

mkdir -p "$BIN"
exec 9>"$OUT/.lock"
flock 9
if complete; then link_control_plane; echo "$BIN"; exit 0; fi

build() { # name package [go build flags...]
  local name=$1 pkg=$2
  shift 2
  if [[ ! -x "$BIN/$name" ]]; then
    log "building $name ($pkg)"
    go build -trimpath -pgo=off "$@" -o "$BIN/$name.tmp" "$pkg" >&2
    mv "$BIN/$name.tmp" "$BIN/$name"
  fi
}

# One consumer module per upstream project, each with its own dependency graph.
module() { # dir require-lines... : creates the module (or reuses it) and cds into it
  local dir="$OUT/src/$1"
  shift
  mkdir -p "$dir"
  cd "$dir"
  if [[ ! -f go.mod ]]; then
    go mod init "flagops.local/$(basename "$dir")" >&2
    local r
    for r in "$@"; do go get "$r" >&2; done
  fi
}

export GOFLAGS="-mod=mod"

# Kubernetes node components: the same consumer-module method as the control plane.
export CGO_ENABLED=0
mkdir -p "$OUT/src/kubernetes" && cd "$OUT/src/kubernetes"
# shellcheck source=../control-plane/kube-module.sh
source "$HERE/../control-plane/kube-module.sh"
if [[ ! -f go.sum ]]; then
  log "resolving k8s.io/kubernetes@$KUBE_VERSION (first run downloads modules)"
  write_kube_module "$PWD" "$KUBE_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport (\n' > tools.go
  for c in kubelet kube-proxy kube-controller-manager kube-scheduler; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c" >> tools.go
  done
  printf ')\n' >> tools.go
  go mod tidy -e >&2
fi
MINOR="${KUBE_VERSION#v1.}"
KUBE_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${MINOR%%.*}"
for c in kubelet kube-proxy kube-controller-manager kube-scheduler; do
  build "$c" "k8s.io/kubernetes/cmd/$c" -ldflags "$KUBE_LDFLAGS"
done

# containerd 2: no btrfs/devmapper/zfs snapshotters (they need cgo headers; overlayfs is enough).
module containerd "github.com/containerd/containerd/v2@$CONTAINERD_VERSION"
for c in containerd containerd-shim-runc-v2 ctr; do
  build "$c" "github.com/containerd/containerd/v2/cmd/$c" -tags "no_btrfs no_devmapper no_zfs" -ldflags "-s -w"
done

# CNI plugins: the four a single bridge network needs.
module cni "github.com/containernetworking/plugins@$CNI_VERSION"
build bridge github.com/containernetworking/plugins/plugins/main/bridge -ldflags "-s -w"
build host-local github.com/containernetworking/plugins/plugins/ipam/host-local -ldflags "-s -w"
build loopback github.com/containernetworking/plugins/plugins/main/loopback -ldflags "-s -w"
build portmap github.com/containernetworking/plugins/plugins/meta/portmap -ldflags "-s -w"

module coredns "github.com/coredns/coredns@$COREDNS_VERSION"
build coredns github.com/coredns/coredns -ldflags "-s -w"

# The pause container: our own few lines of Go (a static binary, the sandbox image's only file).
mkdir -p "$OUT/src/pause" && cp "$HERE/pause/main.go" "$OUT/src/pause/main.go" && cd "$OUT/src/pause"
[[ -f go.mod ]] || go mod init flagops.local/pause >&2
build pause . -ldflags "-s -w"

# runc ≥ 1.2 (Debian 12's 1.1.5 fails every sandbox), with seccomp: cgo.
export CGO_ENABLED=1
module runc "github.com/opencontainers/runc@$RUNC_VERSION"
build runc github.com/opencontainers/runc -tags "seccomp urfave_cli_no_docs" -ldflags "-s -w"

link_control_plane
log "done: $BIN"
echo "$BIN"
