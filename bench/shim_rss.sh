#!/usr/bin/env bash
# shim_rss.sh [N]: resident memory of berth-shim in its steady state. Starts N (default 20)
# shims, each running a busybox `sleep 1000` container, waits a moment, prints VmRSS / RssAnon /
# RssFile (kB, /proc/<pid>/status) and Pss (smaps_rollup: file pages shared by all shims are
# split between them) of every shim and the means, then kills the containers
# over control.sock and waits for the shims to exit. Needs root.
#   BERTH_SHIM=build-static/cmd/berth-shim sudo bench/shim_rss.sh 20
set -euo pipefail

n=${1:-20}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shim=${BERTH_SHIM:-$here/build-shim/cmd/berth-shim}
[[ -x $shim ]] || { echo "$0: $shim not built" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "$0: needs root" >&2; exit 1; }

work=$(mktemp -d /tmp/shim-rss.XXXXXX)
pids=()
cleanup() {
  for ((i = 0; i < n; i++)); do
    sock=$work/state/c$i/control.sock
    [[ -S $sock ]] && python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"kill 9\n"); s.recv(64)' \
      "$sock" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

RUNTIME=${RUNTIME:-runc} "$here/tests/integration/make-bundle.sh" "$work/bundle" /bin/sleep 1000
for ((i = 0; i < n; i++)); do
  "$shim" --id "shimrss-$$-$i" --bundle "$work/bundle" --state-dir "$work/state/c$i" \
    --runtime-root "$work/runtime" --log-path "$work/c$i.log"
  pids+=("$(cat "$work/state/c$i/shim.pid")")
done
sleep 1
echo "berth-shim: $shim ($(file -b "$shim" | cut -d, -f1-2 | tr -d '\n'))"
printf '%-8s %8s %8s %8s %8s\n' pid VmRSS RssAnon RssFile Pss
total=0 total_pss=0
for p in "${pids[@]}"; do
  read -r rss anon file < <(awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r, a, f}' \
    "/proc/$p/status")
  pss=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
  printf '%-8s %8s %8s %8s %8s\n' "$p" "$rss" "$anon" "$file" "$pss"
  total=$((total + rss)) total_pss=$((total_pss + pss))
done
echo "mean over $n shims: VmRSS $((total / n)) kB, Pss $((total_pss / n)) kB"
