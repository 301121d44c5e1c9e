#!/usr/bin/env bash
# Stops one test cluster started by cluster.ts and removes what it made, and nothing else:
#   1. SIGKILLs the process groups named by its pid files, then every process left in its own cgroup (containerd
#      shims and containers, which are not our children);
#   2. unmounts everything mounted under its state directory (kubelet volumes, overlay rootfs, pod netns);
#   3. removes its cgroups (deepest first) and its network namespace, restores the kernel tunables the kubelet
#      changed when no other test cluster is left, and deletes the state directory.
# It is the one clean-up path: cluster.ts calls it on stop, its watchdog calls it when the test process dies, and
# the next start calls it for a cluster whose owner is gone.
#
# Usage: down.sh STATE_DIR
set -uo pipefail
STATE=${1:?usage: down.sh STATE_DIR}
[[ -f "$STATE/cluster.env" ]] || { rm -rf "$STATE"; exit 0; }
# shellcheck disable=SC1091
source "$STATE/cluster.env" # NETNS, CGROUP, REGISTRY

for f in "$STATE"/pids/*.pid; do
  [[ -f "$f" ]] && kill -KILL -- "-$(cat "$f")" 2>/dev/null
done

cgroup_procs() { find "/sys/fs/cgroup/pids/$CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null; }
for _ in $(seq 1 100); do
  procs=$(cgroup_procs)
  [[ -z "$procs" ]] && break
  # shellcheck disable=SC2086
  kill -KILL $procs 2>/dev/null
  sleep 0.1
done

# Mount points under the state dir, deepest first (mountinfo field 5; octal escapes such as \040 decoded).
mapfile -t mounts < <(awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r -u)
for m in "${mounts[@]}"; do
  m=$(printf '%b' "$m")
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done

for root in /sys/fs/cgroup/*/; do
  [[ -d "$root$CGROUP" ]] || continue
  find "$root$CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
done

ip netns delete "$NETNS" 2>/dev/null
rm -f "$REGISTRY/clusters/$NETNS"

# The kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops (machine-wide, not per netns).
# The first cluster up saved them; the last one down puts them back.
if [[ -f "$REGISTRY/sysctl.orig" ]] && [[ -z "$(ls -A "$REGISTRY/clusters" 2>/dev/null)" ]]; then
  while read -r key value; do sysctl -q -w "$key=$value" >/dev/null 2>&1; done < "$REGISTRY/sysctl.orig"
  rm -f "$REGISTRY/sysctl.orig"
fi
rm -rf "$STATE"
exit 0
