#!/usr/bin/env bash
# container_run.sh [N]: wall time of one whole `run --rm --network none busybox true` (create,
# start, wait, remove: what a user waits for) per engine, N runs each (default 30, or $N),
# INTERLEAVED round-robin (berthd via docker CLI, berthd via berth CLI, docker, podman, ...) after
# 3 warm-up runs each, so drift on the host hits every engine alike. Prints median, p90, min and
# max in ms and the ratio docker/engine (> 1: faster than docker 20.10).
#
#   sudo BERTH_BUILD=/path/to/build bench/container_run.sh 30
#   BENCH_ENGINES="berth_docker docker" bench/container_run.sh 10
#
# Engines (BENCH_ENGINES, default all that can run here):
#   berth_docker  the docker CLI ($DOCKER_CLI, default /usr/local/bin/docker) against berthd
#   berth_cli     berth's own CLI (`berth -H ... run`) against the same berthd; skipped with a
#                 note while that build's berth has no `run` command
#   docker        the same docker CLI against docker.io 20.10's dockerd (runc, managed containerd)
#   podman        podman (runc, conmon), cgroupfs manager, file events backend
#   docker_cli    reference, not an engine: `docker version` against berthd (CLI process start,
#                 /_ping and GET /version): the floor under the berth_docker column
# Setup (private daemons, the image imported into each, cleanup) is in bench/lib-engines.sh.
# Per-run times come from bench/spawn_ms.py around the CLI process (posix_spawn and a monotonic
# clock: no fork of bash is timed, which added ~4.5 ms to every run before). BENCH_CSV=FILE keeps
# the raw times. BENCH_PAUSE (seconds, default 0.2) separates consecutive runs: every engine leaves
# deferred work after a run returns (the kernel's network namespace cleanup, dockerd's and
# containerd's bookkeeping, berthd's trash), which would otherwise land in the next engine's
# measurement; this measures the latency of one run on a settled host. BENCH_PAUSE=0 measures
# back-to-back runs instead. Needs root, runc, jq, busybox-static; docker.io and podman for those columns (bench
# only: `apt-get install docker.io podman`, not part of scripts/setup).
# shellcheck disable=SC2317  # argv_ functions and cleanup are called indirectly
set -euo pipefail

n=${1:-${N:-30}}
warmup=${BENCH_WARMUP:-3}
pause=${BENCH_PAUSE:-0.2}
[[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "usage: $0 [N>=1]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$0: needs root (containers are real)" >&2; exit 1; }

# shellcheck source=bench/lib-engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-engines.sh"
trap eng_cleanup EXIT
trap 'exit 130' INT TERM

engines=${BENCH_ENGINES:-berth_docker berth_cli docker podman docker_cli}

# argv_ENGINE: sets cmd to the command line of one run.
argv_berth_docker() { cmd=("${bdock[@]}" run --rm --network none busybox true); }
argv_berth_cli() { cmd=("${bcli[@]}" run --rm --network none busybox true); }
argv_docker() { cmd=("${ddock[@]}" run --rm --network none busybox true); }
argv_podman() { cmd=("${pod[@]}" run --rm --network none busybox true); }
argv_docker_cli() { cmd=("${bdock[@]}" version); }

declare -A label=(
  [berth_docker]="berthd (docker CLI)" [berth_cli]="berthd (berth CLI)"
  [docker]="docker 20.10" [podman]="podman" [docker_cli]="ref: docker version"
)

berthd_ok=0
if [[ " $engines " == *" berth_"* || " $engines " == *" docker_cli "* ]] && eng_start_berthd; then
  eng_import berthd
  berthd_ok=1
fi
active=()
for e in $engines; do
  case $e in
    berth_docker | docker_cli) [[ $berthd_ok == 1 ]] && active+=("$e") ;;
    berth_cli)
      if [[ $berthd_ok == 1 ]] && eng_berth_cli_has_run; then active+=("$e"); else
        echo "note: $berth_cli has no \`run\` command (yet): berth_cli skipped" >&2; fi ;;
    docker) if eng_start_dockerd; then eng_import dockerd; active+=("$e"); fi ;;
    podman) if eng_start_podman; then eng_import podman; active+=("$e"); fi ;;
    *) echo "$0: unknown engine $e" >&2; exit 2 ;;
  esac
done
[[ ${#active[@]} -gt 0 ]] || { echo "$0: nothing to run" >&2; exit 1; }

# one ENGINE: prints the wall time of one run in ms; fails if the run fails.
one() {
  local e=$1 ms rc=0 cmd
  "argv_$e"
  ms=$("$eng_here/bench/spawn_ms.py" --out "$work/out" "${cmd[@]}") || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "$0: $e run failed ($rc):" >&2
    tail -n 20 "$work/out" >&2
    return 1
  fi
  echo "$ms"
}

for e in "${active[@]}"; do
  for ((i = 0; i < warmup; i++)); do one "$e" >/dev/null; done
  : >"$work/$e.ms"
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 0; i < n; i++)); do
  for e in "${active[@]}"; do
    one "$e" >>"$work/$e.ms"
    [[ $pause == 0 ]] || sleep "$pause"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ -n ${BENCH_CSV:-} ]]; then
  files=()
  for e in "${active[@]}"; do files+=("$work/$e.ms"); done
  { (IFS=,; echo "${active[*]}"); paste -d, "${files[@]}"; } >"$BENCH_CSV"
fi

echo "run --rm --network none busybox true: N=$n interleaved (+$warmup warm-up each, ${pause}s apart)," \
  "$(nproc) CPUs, kernel $(uname -r), load avg $load0 -> $load1"
[[ $berthd_ok == 1 ]] && echo "  berthd: $berthd_bin ($("$berthd_bin" --version 2>/dev/null | head -n1))"
[[ -x $docker_cli ]] && echo "  docker CLI: $docker_cli ($("$docker_cli" --version 2>/dev/null))"
[[ " ${active[*]} " == *" docker "* ]] &&
  echo "  dockerd: $(dockerd --version 2>/dev/null), runc $(runc --version | awk 'NR == 1 { print $3 }')"
[[ " ${active[*]} " == *" podman "* ]] && echo "  podman: $(podman --version), runc"
printf '%-22s %10s %10s %10s %10s %12s\n' engine "median ms" "p90 ms" "min ms" "max ms" "docker/this"
declare -A med
for e in "${active[@]}"; do
  read -r m p lo hi < <(stats "$work/$e.ms")
  med[$e]=$m
done
for e in "${active[@]}"; do
  read -r m p lo hi < <(stats "$work/$e.ms")
  ratio=-
  [[ -n ${med[docker]:-} ]] && ratio=$(awk -v d="${med[docker]}" -v m="$m" 'BEGIN { printf "%.1fx", d / m }')
  printf '%-22s %10s %10s %10s %10s %12s\n' "${label[$e]}" "$m" "$p" "$lo" "$hi" "$ratio"
done
for e in berth_cli berth_docker; do
  [[ -n ${med[$e]:-} ]] || continue
  awk -v m="${med[$e]}" -v d="${med[docker]:-0}" -v l="${label[$e]}" 'BEGIN {
    printf "target (%s): median <= 15 ms: %s (%.1f ms)", l, (m <= 15 ? "met" : "NOT met"), m
    if (d > 0) printf "; >= 40x faster than docker: %s (%.1fx)", (d / m >= 40 ? "met" : "NOT met"), d / m
    printf "\n" }'
done
