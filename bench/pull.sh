#!/usr/bin/env bash
# pull.sh [N]: wall time of pulling a multi-layer image of a few hundred MB from a loopback
# registry, `berth-image pull` against the raw pipeline `curl | igzip -d | tar -x` (one per
# layer, all in parallel: the floor), `docker pull` (a private dockerd) and `podman pull` (a
# private store). N runs each (default 5, or $N), INTERLEAVED (raw, berth, docker, podman, raw,
# ...) after one warm-up run each, every run into an empty store; prints the median per tool and
# the ratios berth/raw (target <= 1.1) and docker/berth, podman/berth (target >= 2.5).
#
#   sudo bench/pull.sh 5
#   BERTH_IMAGE=/path/to/berth-image BENCH_TOOLS="raw berth" bench/pull.sh 7
#
# The image: one gzip tar layer per host directory in $BENCH_LAYER_DIRS (default /usr/lib/gcc,
# /usr/share/doc, /usr/lib/python3, /usr/sbin, /usr/libexec: ~240 MB gzip, ~580 MB, ~14k files;
# /usr/include's 24.6k small files would add ~20 s of pure inode creation on the host's
# journal-less ext4, see below), written by GNU tar and assembled with umoci into an OCI layout cached
# in $BENCH_IMAGE_CACHE (default /var/tmp/berth-bench-image; delete it to rebuild: building takes
# a minute or two). Each run of the script pushes it with skopeo to a fresh Debian
# `docker-registry` (distribution 2.x) on 127.0.0.1:<free port> with its storage in a temp dir.
# Everything it starts (registry, dockerd, podman store, temp dirs, mounts) is stopped by pid and
# removed on exit. Page cache is NOT dropped (that would hit everyone on the host): the registry's
# blobs are warm for every tool alike. BERTH_IMAGE defaults to build-bench/, then build/.
# A tool whose binary is missing is skipped with a note. BENCH_CSV=FILE keeps the raw times.
# BERTH_IMAGE_BASE=/path/to/other/berth-image adds it as tool `base` (before/after a change).
# Needs root, umoci, skopeo, docker-registry, curl; igzip (Debian `isal`) or falls back to gzip.
# shellcheck disable=SC2317  # setup_/run_/reset_ functions and cleanup are called indirectly
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-${N:-5}}
[[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "usage: $0 [N>=1]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$0: needs root" >&2; exit 1; }
for t in umoci skopeo docker-registry curl tar python3; do
  command -v "$t" >/dev/null || { echo "$0: $t not found" >&2; exit 1; }
done

cache=${BENCH_IMAGE_CACHE:-/var/tmp/berth-bench-image}
layer_dirs=${BENCH_LAYER_DIRS:-/usr/lib/gcc /usr/share/doc /usr/lib/python3 /usr/sbin /usr/libexec}
tools=${BENCH_TOOLS:-raw berth docker podman${BERTH_IMAGE_BASE:+ base}}
repo=bench/big

berth=${BERTH_IMAGE:-}
if [[ -z $berth ]]; then
  for b in "$here/build-bench/cmd/berth-image" "$here/build/cmd/berth-image"; do
    [[ -x $b ]] && { berth=$b; break; }
  done
fi
gunzip_cmd=(igzip -d -c)
if ! command -v igzip >/dev/null; then
  echo "note: igzip not found (apt-get install isal): the raw pipeline uses gzip -d" >&2
  gunzip_cmd=(gzip -d -c)
fi

work=$(mktemp -d /var/tmp/berth-bench-pull.XXXXXX)
store=$work
registry_pid=
dockerd_pid=
podman_used=0
dock=(docker -H "unix://$work/docker.sock")

cleanup() {
  set +e
  if [[ -n $dockerd_pid ]]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dockerd_pid" 2>/dev/null
    # its managed containerd (if it started one) exits with it; reap anything left by pidfile.
    [[ -f $work/docker-exec/containerd/containerd.pid ]] &&
      kill "$(cat "$work/docker-exec/containerd/containerd.pid")" 2>/dev/null
  fi
  if [[ $podman_used == 1 ]]; then
    "${pod[@]}" rmi -a -f >/dev/null 2>&1
    "${pod[@]}" system reset -f >/dev/null 2>&1
  fi
  if [[ -n $registry_pid ]]; then
    kill "$registry_pid" 2>/dev/null
    wait "$registry_pid" 2>/dev/null
  fi
  # unmount anything left below the work dir (deepest first; the loop device detaches itself).
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "${t}000"
}

# ---- the image (cached) ----------------------------------------------------------------------
if [[ ! -f $cache/.complete ]]; then
  echo "building the image in $cache (one layer per: $layer_dirs) ..." >&2
  rm -rf "$cache"
  umoci init --layout "$cache"
  umoci new --image "$cache:big"
  umoci config --image "$cache:big" --config.cmd /bin/sh --architecture amd64 --os linux
  # GNU tar writes the layers (umoci 0.4.7's own `insert` leaves the last entry's padding and the
  # end-of-archive blocks out, which GNU tar rejects); umoci gzips and adds them verbatim.
  for d in $layer_dirs; do
    rel=${d#/}
    parents=()
    p=$(dirname "$rel")
    while [[ $p != . ]]; do parents=("$p" "${parents[@]}"); p=$(dirname "$p"); done
    tar -C / -cf "$cache.layer.tar" --no-recursion "${parents[@]}" --recursion "$rel"
    umoci raw add-layer --image "$cache:big" --history.created_by "tar -C / -c $rel" \
      "$cache.layer.tar"
    rm -f "$cache.layer.tar"
  done
  umoci gc --layout "$cache"
  echo "$layer_dirs" >"$cache/.layer-dirs"
  touch "$cache/.complete"
fi

# ---- the store filesystem -------------------------------------------------------------------
# Every tool writes into $store. By default that is a fresh ext4 (with a journal, mkfs defaults)
# on a loop device: the host's / here is ext4 WITHOUT a journal, where inode allocation skips
# every inode freed in the last 60-360 s (ext4 find_inode_bit -> recently_deleted), so after the
# previous run's `rm -rf` of ~14k files each create scans thousands of them and file creation,
# not the tools, dominates (perf: ~75% of berth's pull in recently_deleted). BENCH_FS=host keeps
# everything under /var/tmp instead.
if [[ ${BENCH_FS:-loop} == loop ]]; then
  truncate -s "${BENCH_FS_SIZE:-12G}" "$work/fs.img"
  mkfs.ext4 -q -F "$work/fs.img"
  mkdir "$work/fs"
  mount -o loop "$work/fs.img" "$work/fs"
  store=$work/fs
fi
pod=(podman --root "$store/podman-root" --runroot "$work/podman-run" --storage-driver overlay
  --cgroup-manager cgroupfs --events-backend none)

# ---- the registry ----------------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
ref=127.0.0.1:$port/$repo:latest
skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci:$cache:big" "docker://$ref" >&2
manifest=$(skopeo inspect --raw --tls-verify=false "docker://$ref")
mapfile -t digests < <(python3 -c 'import json, sys
for l in json.loads(sys.argv[1])["layers"]: print(l["digest"])' "$manifest")
gz_bytes=$(python3 -c 'import json, sys
print(sum(l["size"] for l in json.loads(sys.argv[1])["layers"]))' "$manifest")

# ---- the tools -------------------------------------------------------------------------------
# Each `run_TOOL DIR` does one timed pull into an empty store; `reset_TOOL DIR` empties it
# (untimed). `setup_TOOL` returns non-zero (after a note) when the tool cannot run here.
setup_raw() { :; }
run_raw() {
  local dir=$1 i=0 pids=() d
  for d in "${digests[@]}"; do
    mkdir -p "$dir/$i"
    (set -o pipefail
      curl -sSfL "http://127.0.0.1:$port/v2/$repo/blobs/$d" | "${gunzip_cmd[@]}" | tar -x -C "$dir/$i") &
    pids+=($!)
    i=$((i + 1))
  done
  local rc=0 p
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}
reset_raw() { rm -rf "$1"; }

setup_berth() {
  [[ -n $berth && -x $berth ]] || { echo "note: berth-image not built: skipped" >&2; return 1; }
}
run_berth() { "$berth" --root "$1" pull "$ref"; }
reset_berth() { rm -rf "$1"; }

# `base`: a second berth-image binary (BERTH_IMAGE_BASE), for before/after comparisons of a change.
setup_base() {
  [[ -n ${BERTH_IMAGE_BASE:-} && -x $BERTH_IMAGE_BASE ]] ||
    { echo "note: BERTH_IMAGE_BASE not set: base skipped" >&2; return 1; }
}
run_base() { "$BERTH_IMAGE_BASE" --root "$1" pull "$ref"; }
reset_base() { rm -rf "$1"; }

setup_docker() {
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    echo "note: dockerd/docker not installed: skipped" >&2
    return 1
  fi
  mkdir -p "$store/docker-root" "$work/docker-exec"
  dockerd --data-root "$store/docker-root" --exec-root "$work/docker-exec" \
    -H "unix://$work/docker.sock" --pidfile "$work/docker.pid" --iptables=false \
    --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false --storage-driver overlay2 \
    --insecure-registry "127.0.0.1:$port" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 300); do
    "${dock[@]}" version >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "note: dockerd did not start: skipped; its log:" >&2
  tail -n 5 "$work/dockerd.log" >&2
  return 1
}
run_docker() { "${dock[@]}" pull "$ref"; }
reset_docker() {
  "${dock[@]}" rmi -f "$ref" >/dev/null 2>&1 || true
  "${dock[@]}" image prune -a -f >/dev/null
}

setup_podman() {
  command -v podman >/dev/null || { echo "note: podman not installed: skipped" >&2; return 1; }
  podman_used=1
}
run_podman() { "${pod[@]}" pull --tls-verify=false "$ref"; }
reset_podman() { "${pod[@]}" rmi -a -f >/dev/null 2>&1 || true; }

active=()
for t in $tools; do
  if "setup_$t"; then active+=("$t"); fi
done
[[ ${#active[@]} -gt 0 ]] || { echo "$0: nothing to run" >&2; exit 1; }

# one TOOL RUN: prints the wall time of one pull in seconds; fails if the pull fails.
one() {
  local t=$1 dir=$store/out-$1-$2 t0 t1 rc=0
  t0=$(now_ns)
  "run_$t" "$dir" </dev/null >"$work/out" 2>&1 || rc=$?
  t1=$(now_ns)
  if [[ $rc -ne 0 ]]; then
    echo "$0: $t pull failed ($rc):" >&2
    tail -n 20 "$work/out" >&2
    return 1
  fi
  if [[ $t == raw && ! -f $work/tree-stats ]]; then
    echo "$(du -sb --apparent-size "$dir" | cut -f1) $(find "$dir" -mindepth 2 | wc -l)" \
      >"$work/tree-stats"
  fi
  "reset_$t" "$dir"
  sync -f "$store"  # write-back of this run is not charged to the next tool
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

for t in "${active[@]}"; do
  one "$t" warm >/dev/null
  : >"$work/$t.s"
done
for ((i = 0; i < n; i++)); do
  for t in "${active[@]}"; do
    one "$t" "$i" >>"$work/$t.s"
  done
done

if [[ -n ${BENCH_CSV:-} ]]; then
  (IFS=,; echo "${active[*]}")
  files=()
  for t in "${active[@]}"; do files+=("$work/$t.s"); done
  paste -d, "${files[@]}"
fi >"${BENCH_CSV:-/dev/null}"

# stats FILE: "median min max" in seconds.
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
read -r raw_bytes files <"$work/tree-stats" 2>/dev/null || { raw_bytes=0; files='?'; }
echo "pull of $ref: ${#digests[@]} layers, $(awk -v b="$gz_bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB gzip," \
  "$(awk -v b="$raw_bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB / $files files unpacked;" \
  "N=$n interleaved (+1 warm-up each), $(nproc) CPUs, kernel $(uname -r)"
echo "  store: $([[ $store == "$work" ]] && echo "host fs ($(findmnt -no FSTYPE -T "$work"))" || echo "fresh ext4 on a loop device")"
echo "  raw: curl | ${gunzip_cmd[0]} -d | tar -x, one per layer, in parallel"
[[ -n $berth ]] && echo "  berth: $berth"
[[ -n ${BERTH_IMAGE_BASE:-} ]] && echo "  base: $BERTH_IMAGE_BASE"
printf '%-8s %10s %10s %10s\n' tool "median s" "min s" "max s"
declare -A med
for t in "${active[@]}"; do
  read -r m lo hi < <(stats "$work/$t.s")
  med[$t]=$m
  printf '%-8s %10s %10s %10s\n' "$t" "$m" "$lo" "$hi"
done
if [[ -n ${med[berth]:-} ]]; then
  [[ -n ${med[raw]:-} ]] && awk -v a="${med[berth]}" -v b="${med[raw]}" \
    'BEGIN { printf "ratio berth/raw: %.2fx (target <= 1.10)\n", a / b }'
  [[ -n ${med[base]:-} ]] && awk -v a="${med[base]}" -v b="${med[berth]}" \
    'BEGIN { printf "ratio base/berth: %.2fx\n", a / b }'
  for t in docker podman; do
    [[ -n ${med[$t]:-} ]] && awk -v a="${med[$t]}" -v b="${med[berth]}" -v t="$t" \
      'BEGIN { printf "ratio %s/berth: %.2fx (target >= 2.5)\n", t, a / b }'
  done
fi
exit 0
