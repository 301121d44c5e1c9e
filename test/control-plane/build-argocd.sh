#!/usr/bin/env bash
# Builds the Argo CD components the Argo CD end-to-end test runs (application controller, repo-server,
# CMP server, ApplicationSet controller), from Argo CD's Go module, once per machine, into a cache
# outside the clone. Nothing is downloaded but Go modules through the Go module proxy.
#
# `go install github.com/argoproj/argo-cd/v3/cmd@vX` refuses a module with replace directives, so a
# small consumer module copies Argo CD's replace block. Its main package is Argo CD's cmd/main.go cut
# down to the components we run (one binary, the component chosen by ARGOCD_BINARY_NAME, as upstream);
# leaving out the CLI and the API server shortens the cold build.
#
# Usage: build-argocd.sh      prints the directory holding the `argocd` binary
# Env:   ARGOCD_VERSION       Argo CD release (default below; 3.3+ pins a gitops-engine the proxy lacks)
#        FLAGOPS_CACHE_DIR    cache root (default ~/.cache/flagops-data-store)
set -euo pipefail

ARGOCD_VERSION="${ARGOCD_VERSION:-v3.2.12}"
# The gitops-engine v3.2.12 pins; written into the consumer module so that nothing moves it.
GITOPS_ENGINE_VERSION="${GITOPS_ENGINE_VERSION:-v0.7.1-0.20260512161450-ff8d2f5207dc}"
CACHE_ROOT="${FLAGOPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flagops-data-store}"
OUT="$CACHE_ROOT/argocd-$ARGOCD_VERSION"
BIN="$OUT/bin"

log() { printf '[argocd build] %s\n' "$*" >&2; }

if [[ -x "$BIN/argocd" && -f "$OUT/manifests/crds/application-crd.yaml" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "Go is required to build Argo CD"; exit 1; }
mkdir -p "$BIN" "$OUT/src"
# One build at a time per machine: parallel runs wait for the first build.
exec 9>"$OUT/.lock"
flock 9
if [[ -x "$BIN/argocd" && -f "$OUT/manifests/crds/application-crd.yaml" ]]; then
  echo "$BIN"
  exit 0
fi

SRC="$OUT/src"
rm -rf "$SRC" && mkdir -p "$SRC" && cd "$SRC"   # generated afresh: nothing of an earlier attempt lingers
start=$(date +%s)

log "resolving github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION"
INFO=$(go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION")
GOMOD_FILE=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$INFO")
MOD_DIR=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$INFO")
[[ -f "$GOMOD_FILE" && -d "$MOD_DIR" ]] || { log "could not download argo-cd@$ARGOCD_VERSION"; exit 1; }
GO_LINE=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$GOMOD_FILE" | head -1)

# v3.2.12 as published does not compile: its backported fix in controller/cache/info.go calls
# settings.ValidateExternalURL, but util/settings at that tag only has the unexported validateExternalURL.
# Go refuses build overlays of files in the module cache, so the module is copied next to the consumer
# module (from the checksum-verified module cache) and the one-line exported wrapper is added to the copy.
ARGO_REPLACE=""
if grep -q 'settings\.ValidateExternalURL' "$MOD_DIR/controller/cache/info.go" \
  && ! grep -rqs 'func ValidateExternalURL' "$MOD_DIR/util/settings/"; then
  log "adding util/settings.ValidateExternalURL (missing from $ARGOCD_VERSION) to a copy of the module"
  rm -rf argo-cd && cp -r "$MOD_DIR" argo-cd && chmod -R u+w argo-cd
  cat > argo-cd/util/settings/zz_flagops_validate_external_url.go <<'GO'
package settings

// ValidateExternalURL is called by controller/cache in v3.2.12 but missing from its util/settings
// (added by flagops-data-store's test/control-plane/build-argocd.sh).
func ValidateExternalURL(u string) error { return validateExternalURL(u) }
GO
  ARGO_REPLACE="github.com/argoproj/argo-cd/v3 => ./argo-cd"
fi

{
  echo "module flagops.local/argocd"
  echo
  echo "go $GO_LINE"
  echo
  echo "require ("
  echo "	github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION"
  echo "	github.com/argoproj/gitops-engine $GITOPS_ENGINE_VERSION"
  echo ")"
  echo
  # Argo CD's own replace block (k8s.io staging modules, golang/protobuf, grpc-gateway, x/tools, yaml).
  sed -n '/^replace (/,/^)/p' "$GOMOD_FILE"
  [[ -z "$ARGO_REPLACE" ]] || printf '\nreplace %s\n' "$ARGO_REPLACE"
} > go.mod
cat > main.go <<'GO'
// The Argo CD components the flagops-data-store end-to-end test runs, chosen by ARGOCD_BINARY_NAME as in
// Argo CD's cmd/main.go.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	applicationset "github.com/argoproj/argo-cd/v3/cmd/argocd-applicationset-controller/commands"
	cmpserver "github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var command *cobra.Command
	switch name {
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	case "argocd-cmp-server":
		command = cmpserver.NewCommand()
	case "argocd-git-ask-pass":
		command = gitaskpass.NewCommand()
	case "argocd-applicationset-controller":
		command = applicationset.NewCommand()
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q (set ARGOCD_BINARY_NAME)\n", name)
		os.Exit(2)
	}
	if err := command.Execute(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			os.Exit(exitErr.ExitCode())
		}
		os.Exit(1)
	}
}
GO

export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
log "go mod tidy (first run downloads modules; this takes a few minutes)"
go mod tidy -e >&2

log "building argocd (long on a cold cache)"
go build -trimpath -pgo=off \
  -ldflags "-s -w -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}" \
  -o "$BIN/argocd.tmp" . >&2
# The CRDs and default ConfigMaps the components read, from the same module.
rm -rf "$OUT/manifests" && mkdir -p "$OUT/manifests"
cp -r "$MOD_DIR/manifests/crds" "$MOD_DIR/manifests/base" "$OUT/manifests/"
chmod -R u+w "$OUT/manifests"
mv "$BIN/argocd.tmp" "$BIN/argocd"
log "done in $(( $(date +%s) - start ))s: $BIN"
echo "$BIN"
