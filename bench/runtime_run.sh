#!/usr/bin/env bash
# runtime_run.sh [N]: wall time of `RUNTIME run` for a busybox bundle running /bin/true,
# berth-runtime against runc, N runs each (default 30, or $N), INTERLEAVED (berth, runc, berth,
# runc, ...) so that drift on the host (page cache, frequency, noisy neighbours) hits both alike.
# Prints the median and p90 in ms for each and the ratio runc/berth (> 1: berth is faster).
#
#   sudo bench/runtime_run.sh 50
#   BERTH_RUNTIME=/path/to/berth-runtime RUNC=/usr/sbin/runc bench/runtime_run.sh
#
# BERTH_RUNTIME defaults to build/cmd/berth-runtime; without it the script compares runc with
# itself (a check of the method: the ratio should be ~1.0). Both use the same bundle
# (tests/integration/make-bundle.sh, runc's default spec: pid/net/ipc/uts/mnt namespaces, no
# seccomp) and each its own --root. Per-run times come from bench/spawn_ms.py (posix_spawn, a
# monotonic clock around spawn and reap: the timing adds no fork of bash to either runtime); 3
# warm-up runs each are not counted. The "floor" line is the same helper spawning the bundle's
# busybox `true` directly: what any process start costs on this host, included in both columns. BENCH_CSV=FILE keeps the raw times.
# BENCH_RO_EXE=1 runs berth-runtime from a read-only bind mount of its file (a hardened install,
# e.g. a read-only /usr): then create/run/exec skip the one re-exec through a read-only view of
# their own binary that a writable install needs (CVE-2019-5736 guard, runtime/linux/exe_seal.h).
# BENCH_HYPERFINE=1 adds a hyperfine cross-check (not interleaved) if hyperfine is installed
# (`apt-get install hyperfine`; a benchmarking aid, not a CI dependency). Needs root.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-${N:-30}}
warmup=${BENCH_WARMUP:-3}
[[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "usage: $0 [N>=1]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$0: needs root (containers are real)" >&2; exit 1; }

runc=${RUNC:-$(command -v runc || true)}
[[ -x $runc ]] || { echo "$0: runc not found (apt-get install runc, or set RUNC)" >&2; exit 1; }
berth=${BERTH_RUNTIME:-$here/build/cmd/berth-runtime}
berth_name=berth
if [[ ! -x $berth ]]; then
  echo "note: $berth not built: comparing runc with itself" >&2
  berth=$runc
  berth_name='runc-as-berth'
fi

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
cleanup() {
  local r id
  for r in berth runc; do
    [[ -d $work/$r ]] || continue
    for id in "$work/$r"/*/; do
      [[ -d $id ]] || continue
      id=$(basename "$id")
      if [[ $r == berth ]]; then "$berth" --root "$work/$r" delete --force "$id"; else
        "$runc" --root "$work/$r" delete --force "$id"; fi >/dev/null 2>&1 || true
    done
  done
  if [[ -e $work/berth-runtime-ro ]]; then umount "$work/berth-runtime-ro" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

RUNTIME=$runc "$here/tests/integration/make-bundle.sh" "$work/bundle" /bin/true
if [[ ${BENCH_RO_EXE:-0} == 1 && $berth != "$runc" ]]; then
  : >"$work/berth-runtime-ro"
  mount --bind "$berth" "$work/berth-runtime-ro"
  mount -o remount,bind,ro "$work/berth-runtime-ro"
  berth=$work/berth-runtime-ro
  berth_name='berth (ro exe)'
fi
mkdir -p "$work/berth" "$work/runc"

# one RUNTIME ROOT ID: prints the wall time of one `run` in ms; fails if the run fails.
one() {
  local rt=$1 root=$2 id=$3 ms rc=0
  ms=$("$here/bench/spawn_ms.py" --out "$work/err" "$rt" --root "$root" run --bundle "$work/bundle" "$id") || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "$0: $rt run $id failed ($rc): $(cat "$work/err")" >&2
    return 1
  fi
  # `run` without --keep deletes the container; make sure, outside the timed region.
  [[ ! -e $root/$id ]] || "$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  echo "$ms"
}

for ((i = 0; i < warmup; i++)); do
  one "$berth" "$work/berth" "warm-b$i" >/dev/null
  one "$runc" "$work/runc" "warm-r$i" >/dev/null
done

: >"$work/berth.ms"
: >"$work/runc.ms"
: >"$work/floor.ms"
for ((i = 0; i < n; i++)); do
  one "$berth" "$work/berth" "b$i" >>"$work/berth.ms"
  one "$runc" "$work/runc" "r$i" >>"$work/runc.ms"
  "$here/bench/spawn_ms.py" "$work/bundle/rootfs/bin/true" >>"$work/floor.ms"
done

if [[ -n ${BENCH_CSV:-} ]]; then
  paste -d, "$work/berth.ms" "$work/runc.ms" | { echo "$berth_name,runc"; cat; } >"$BENCH_CSV"
fi

# stats FILE: "median p90 min max" in ms (p90: nearest rank).
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
    printf "%.1f %.1f %.1f %.1f\n", m, v[r], v[1], v[NR] }'
}
read -r bm bp bmin bmax < <(stats "$work/berth.ms")
read -r rm_ rp rmin rmax < <(stats "$work/runc.ms")
read -r fm fp fmin fmax < <(stats "$work/floor.ms")

echo "runtime run, busybox /bin/true, N=$n interleaved (+$warmup warm-up each), $(nproc) CPUs, kernel $(uname -r), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $berth_name: $berth ($("$berth" --version 2>/dev/null | head -n1))"
echo "  runc: $runc ($("$runc" --version 2>/dev/null | head -n1))"
printf '%-14s %10s %10s %10s %10s\n' runtime "median ms" "p90 ms" "min ms" "max ms"
printf '%-14s %10s %10s %10s %10s\n' "$berth_name" "$bm" "$bp" "$bmin" "$bmax"
printf '%-14s %10s %10s %10s %10s\n' runc "$rm_" "$rp" "$rmin" "$rmax"
printf '%-14s %10s %10s %10s %10s\n' "floor (true)" "$fm" "$fp" "$fmin" "$fmax"
awk -v rm="$rm_" -v bm="$bm" -v rp="$rp" -v bp="$bp" \
  'BEGIN { printf "ratio runc/berth: median %.2fx, p90 %.2fx\n", rm / bm, rp / bp }'

if [[ ${BENCH_HYPERFINE:-0} == 1 ]]; then
  if command -v hyperfine >/dev/null; then
    echo
    echo "hyperfine cross-check (not interleaved):"
    hyperfine --warmup "$warmup" --runs "$n" -N \
      -n "$berth_name" "$berth --root $work/berth run --bundle $work/bundle hf-b" \
      -n runc "$runc --root $work/runc run --bundle $work/bundle hf-r"
  else
    echo "BENCH_HYPERFINE=1 but hyperfine is not installed (apt-get install hyperfine)" >&2
  fi
fi
