#!/usr/bin/env bash
# daemon_rss.sh [N]: resident memory of the engine daemons and of the per-container supervisors.
# For each engine in turn (berthd, docker 20.10, podman; one at a time, each torn down before the
# next): the daemon idle right after start, after importing busybox:latest, with N (default 100,
# or $N) `run -d --network none busybox sleep 1000` containers, and after removing them; and the
# mean over the N per-container processes (berth-shim, containerd-shim-runc-v2, conmon).
# Targets from the issue: idle berthd <= 15 MiB, berth-shim <= 0.5 MiB each.
#
#   sudo BERTH_BUILD=/path/to/build bench/daemon_rss.sh 100
#   BENCH_ENGINES="berth" BENCH_SETTLE=2 bench/daemon_rss.sh 20
#
# Numbers: VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup: each shared page split
# between the processes mapping it, so the N supervisors' shared text counts once in their sum:
# the fair per-container number), RssAnon for the private part. Each reading is taken
# $BENCH_SETTLE s (default 2) after the step (berth-shim trims its clean pages ~1 s after start).
# dockerd's figure leaves out its containerd, which is shown on its own line; podman has no
# daemon. Pss of the daemons depends on who else maps the same libraries (other berthd, other
# processes on a shared host): compare VmRSS across hosts, Pss within a run.
# Setup (private daemons, the image, cleanup) is in bench/lib-engines.sh. Needs root.
set -euo pipefail

n=${1:-${N:-100}}
settle=${BENCH_SETTLE:-2}
[[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || { echo "usage: $0 [N>=1]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$0: needs root (containers are real)" >&2; exit 1; }

# shellcheck source=bench/lib-engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-engines.sh"
trap eng_cleanup EXIT
trap 'exit 130' INT TERM

engines=${BENCH_ENGINES:-berth docker podman}

# mem PID: "VmRSS RssAnon Pss" in kB.
mem() {
  local rss anon pss
  read -r rss anon < <(awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } END { print r, a }' \
    "/proc/$1/status")
  pss=$(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup")
  echo "$rss $anon $pss"
}

row() {  # row NAME STATE VmRSS-kB RssAnon-kB Pss-kB
  awk -v n="$1" -v s="$2" -v r="$3" -v a="$4" -v p="$5" \
    'BEGIN { printf "%-26s %-22s %9.1f %9.1f %9.1f\n", n, s, r / 1024, a / 1024, p / 1024 }'
}

# daemon_row NAME STATE PID
daemon_row() {
  local r a p
  read -r r a p < <(mem "$3")
  row "$1" "$2" "$r" "$a" "$p"
}

# supervisors NAME COMM PATTERN: mean VmRSS / RssAnon / Pss of the processes named COMM whose
# command line contains PATTERN, and the sum of their Pss.
# supervisors NAME COMM PATTERN: the per-container processes named COMM whose command line
# contains PATTERN; a PATTERN "pidfiles:GLOB" takes their pids from the files GLOB matches
# instead (berth-shim: a shim that began as berthd's standby has no path on its command line).
supervisors() {
  local name=$1 comm=$2 pat=$3 p c=0 r a s tr=0 ta=0 tp=0 pids
  if [[ $pat == pidfiles:* ]]; then
    # shellcheck disable=SC2086  # the glob must expand
    pids=$(awk 1 ${pat#pidfiles:} 2>/dev/null) # one per line: the files have no newline
  else
    pids=$(eng_pids_naming "$pat")
  fi
  for p in $pids; do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$comm" ]] || continue
    read -r r a s < <(mem "$p") || continue
    c=$((c + 1)) tr=$((tr + r)) ta=$((ta + a)) tp=$((tp + s))
  done
  if [[ $c -eq 0 ]]; then
    echo "note: no $comm processes found" >&2
    return 0
  fi
  awk -v n="$name" -v c="$c" -v r="$tr" -v a="$ta" -v p="$tp" 'BEGIN {
    printf "%-26s %-22s %9.2f %9.2f %9.2f   (sum of Pss %.1f MiB)\n", n, "mean of " c, r / c / 1024,
      a / c / 1024, p / c / 1024, p / 1024 }'
}

# start_n DOCKER-LIKE-CLI...: N detached sleep containers.
start_n() {
  local i
  for ((i = 0; i < n; i++)); do
    "$@" run -d --network none busybox sleep 1000 >/dev/null
  done
}

out=$work/table
: >"$out"

bench_berth() {
  eng_start_berthd || return 0
  sleep "$settle"
  daemon_row berthd "idle after start" "$berthd_pid" >>"$out"
  eng_import berthd
  sleep "$settle"
  daemon_row berthd "after import" "$berthd_pid" >>"$out"
  start_n "${bdock[@]}"
  sleep "$settle"
  daemon_row berthd "with $n containers" "$berthd_pid" >>"$out"
  supervisors berth-shim berth-shim "pidfiles:$run_dir/b-exec/shim/*/shim.pid" >>"$out"
  eng_rm_all "${bdock[@]}"
  sleep "$settle"
  daemon_row berthd "after removing them" "$berthd_pid" >>"$out"
  eng_stop_berthd
}

bench_docker() {
  eng_start_dockerd || return 0
  local ctd
  sleep "$settle"
  ctd=$(cat "$run_dir/d-exec/containerd/containerd.pid" 2>/dev/null || true)
  daemon_row dockerd "idle after start" "$dockerd_pid" >>"$out"
  [[ -n $ctd ]] && daemon_row "  its containerd" "idle after start" "$ctd" >>"$out"
  eng_import dockerd
  sleep "$settle"
  daemon_row dockerd "after import" "$dockerd_pid" >>"$out"
  [[ -n $ctd ]] && daemon_row "  its containerd" "after import" "$ctd" >>"$out"
  start_n "${ddock[@]}"
  sleep "$settle"
  daemon_row dockerd "with $n containers" "$dockerd_pid" >>"$out"
  [[ -n $ctd ]] && daemon_row "  its containerd" "with $n containers" "$ctd" >>"$out"
  # comm is cut to 15 characters: containerd-shim-runc-v2 -> containerd-shim
  supervisors containerd-shim-runc-v2 containerd-shim "$run_dir/d-exec/" >>"$out"
  eng_rm_all "${ddock[@]}"
  sleep "$settle"
  daemon_row dockerd "after removing them" "$dockerd_pid" >>"$out"
  [[ -n $ctd ]] && daemon_row "  its containerd" "after removing them" "$ctd" >>"$out"
  eng_stop_dockerd
}

bench_podman() {
  eng_start_podman || return 0
  eng_import podman
  start_n "${pod[@]}"
  sleep "$settle"
  supervisors conmon conmon "$work/p-" >>"$out"
  eng_stop_podman
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for e in $engines; do
  case $e in
    berth | docker | podman) "bench_$e" ;;
    *) echo "$0: unknown engine $e" >&2; exit 2 ;;
  esac
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "daemon and per-container memory, N=$n containers (busybox sleep 1000, --network none)," \
  "$(nproc) CPUs, kernel $(uname -r), load avg $load0 -> $load1"
[[ " $engines " == *" berth "* ]] &&
  echo "  berthd: $berthd_bin ($("$berthd_bin" --version 2>/dev/null | head -n1); $(file -b "$berthd_bin" | cut -d, -f1-2 | tr -d '\n'))"
[[ " $engines " == *" docker "* ]] && command -v dockerd >/dev/null &&
  echo "  dockerd: $(dockerd --version), containerd $(containerd --version | awk '{ print $3 }')"
[[ " $engines " == *" podman "* ]] && command -v podman >/dev/null &&
  echo "  podman: $(podman --version), $(conmon --version | head -n1)"
printf '%-26s %-22s %9s %9s %9s\n' process state "VmRSS MiB" "Anon MiB" "Pss MiB"
cat "$out"
