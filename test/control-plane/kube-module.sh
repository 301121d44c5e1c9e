# Sourced by build.sh (control plane) and test/cluster/build.sh (node): writes the consumer Go module through which
# commands of k8s.io/kubernetes build. The kubernetes go.mod pins every staging module (k8s.io/api, apiserver, …)
# at v0.0.0 with replaces into ./staging, so `go install` cannot build it; this module replaces each with its
# published v0.X.Y (kubernetes/kubernetes#79384).
#
# write_kube_module DIR KUBE_VERSION [extra require lines...] ; sets KUBE_GOMOD_FILE and KUBE_ETCD_VERSION
write_kube_module() {
  local dir=$1 version=$2
  shift 2
  local minor="${version#v1.}" gomod go_line staging
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$gomod" ]] || { echo "could not download k8s.io/kubernetes@$version" >&2; return 1; }
  go_line=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -1)
  staging=$(grep -oE 'k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk '{print $1}' | sort -u)
  KUBE_GOMOD_FILE=$gomod
  KUBE_ETCD_VERSION=$(grep -oE 'go\.etcd\.io/etcd/server/v3 v[0-9.]+' "$gomod" | awk '{print $2}' | head -1)
  {
    echo "module flagops.local/$(basename "$dir")"
    echo
    echo "go $go_line"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $version"
    local line
    for line in "$@"; do echo "	$line"; done
    echo ")"
    echo
    echo "replace ("
    local m
    for m in $staging; do echo "	$m => $m v0.${minor}"; done
    echo ")"
  } > "$dir/go.mod"
}
