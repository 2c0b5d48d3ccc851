# lib-engines.sh: helpers SOURCED (not run) by container_run.sh and daemon_rss.sh. They start
# private instances of three engines under one short temp dir and tear them down again:
#   berthd   $BERTH_BUILD/cmd/berthd (default build/), driven by the docker CLI and by berth's own
#   dockerd  Debian docker.io 20.10 (its own managed containerd, runc), --iptables=false
#            --bridge=none, data/exec root, socket and pidfile under the temp dir
#   podman   Debian podman 4.x, --root/--runroot/--tmpdir under the temp dir, cgroupfs manager,
#            file events backend, CONTAINERS_CONF in the temp dir (default_ulimits = []: root here
#            lacks CAP_SYS_RESOURCE, so podman's default nofile rlimit makes runc fail with EPERM)
# Runtime state (exec roots, podman's runroot) is on a tmpfs below the temp dir, as /run is on a
# systemd host (BENCH_EXEC_TMPFS=0: on disk with the rest).
# All three get the same image: busybox:latest imported from a rootfs tarball of Debian's
# busybox-static (the layout of tests/integration/make-bundle.sh).
# The docker CLI is $DOCKER_CLI (default /usr/local/bin/docker, else the one on PATH) with
# DOCKER_CONFIG pointing into the temp dir (no contexts, no plugins, nothing written to ~/.docker).
#
# The caller: `source bench/lib-engines.sh`, `trap eng_cleanup EXIT`, then eng_start_* for the
# engines it wants (each returns non-zero after a note when that engine cannot run here).
# eng_cleanup removes every container, stops each daemon by pid (then any shim/conmon whose
# command line names the temp dir, by pid), unmounts what is left below the temp dir, removes it,
# and removes the cgroup parents and /run, /var/lib dirs these engines create if they did not
# exist before. Needs root.
# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this

eng_here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
berth_build=${BERTH_BUILD:-$eng_here/build}
berthd_bin=$berth_build/cmd/berthd
berth_cli=$berth_build/cmd/berth
docker_cli=${DOCKER_CLI:-/usr/local/bin/docker}
[[ -x $docker_cli ]] || docker_cli=$(command -v docker || true)

# Short on purpose: a unix socket path must fit in sun_path (108 bytes).
work=$(mktemp -d /tmp/bb-XXXX)
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG"
echo "{}" >"$DOCKER_CONFIG/config.json"  # podman reads it too (registry auth)

# Runtime state (berthd's and dockerd's exec roots, podman's runroot) goes where the engines keep
# it by default, /run, which is a tmpfs on every systemd host. This VM's /run is its root ext4
# (no journal: each new inode scans past the recently deleted ones), and file operations there
# cost every engine ~1 ms more per container. BENCH_EXEC_TMPFS=0 keeps that state on disk.
run_dir=$work
if [[ ${BENCH_EXEC_TMPFS:-1} == 1 ]]; then
  mkdir -p "$work/r"
  # Short on purpose, as $work: shim sockets live below it.
  mount -t tmpfs -o mode=0755 tmpfs "$work/r" && run_dir=$work/r
fi

bdock=("$docker_cli" -H "unix://$work/b.sock")   # docker CLI -> berthd
ddock=("$docker_cli" -H "unix://$work/d.sock")   # docker CLI -> dockerd 20.10
bcli=("$berth_cli" -H "unix://$work/b.sock")     # berth CLI -> berthd
pod=(podman --root "$work/p-root" --runroot "$run_dir/p-run" --tmpdir "$work/p-tmp"
  --cgroup-manager cgroupfs --events-backend file)

berthd_pid=
dockerd_pid=
podman_used=0

# State outside the temp dir that dockerd/containerd/podman create; removed at the end only if
# it did not exist before (cgroup parents: rmdir, which fails while anything still runs there).
eng_new_paths=()
for p in /run/docker /run/containerd /run/libpod /var/lib/containers; do
  [[ -e $p ]] || eng_new_paths+=("$p")
done
eng_new_cgroups=()
for c in docker libpod_parent; do
  [[ -e /sys/fs/cgroup/memory/$c || -e /sys/fs/cgroup/$c ]] || eng_new_cgroups+=("$c")
done

now_ns() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "${t}000"
}

# eng_pids_naming STRING: pids of processes whose command line contains STRING (our temp dir).
eng_pids_naming() {
  local f p c
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}
    p=${p%/cmdline}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $c == *"$1"* ]] && echo "$p"
  done
  return 0
}

# eng_stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 20), then SIGKILL.
eng_stop_pid() {
  local p=$1 s=${2:-20} i
  kill "$p" 2>/dev/null || return 0
  for ((i = 0; i < s * 10; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  echo "note: pid $p did not exit in ${s}s: SIGKILL" >&2
  kill -9 "$p" 2>/dev/null || true
}

# eng_wait_api CMD...: wait up to 30 s for `CMD version` to answer.
eng_wait_api() {
  local i
  for ((i = 0; i < 300; i++)); do
    "$@" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# eng_tarball: the busybox rootfs tarball ($work/busybox.tar), built once.
eng_tarball() {
  [[ -f $work/busybox.tar ]] && return 0
  RUNTIME=runc "$eng_here/tests/integration/make-bundle.sh" "$work/bundle" /bin/true
  tar --numeric-owner -C "$work/bundle/rootfs" -cf "$work/busybox.tar" .
  rm -rf "$work/bundle"
}

eng_start_berthd() {
  [[ -x $berthd_bin ]] || { echo "note: $berthd_bin not built: berthd skipped" >&2; return 1; }
  [[ -x $docker_cli ]] || { echo "note: no docker CLI: berthd skipped" >&2; return 1; }
  echo '{}' >"$work/daemon.json"
  "$berthd_bin" -H "unix://$work/b.sock" --data-root "$work/b-data" --exec-root "$run_dir/b-exec" \
    --pidfile "$work/berthd.pid" --config-file "$work/daemon.json" >"$work/berthd.log" 2>&1 &
  berthd_pid=$!
  eng_wait_api "${bdock[@]}" && return 0
  echo "note: berthd did not start: skipped; its log:" >&2
  tail -n 5 "$work/berthd.log" >&2
  return 1
}

eng_start_dockerd() {
  if ! command -v dockerd >/dev/null || [[ ! -x $docker_cli ]]; then
    echo "note: dockerd (apt-get install docker.io) or the docker CLI missing: docker skipped" >&2
    return 1
  fi
  # docker.io 20.10 starts its own containerd under --exec-root when none is given.
  local extra=()
  read -ra extra <<<"${BENCH_DOCKERD_ARGS:-}"  # e.g. --default-ulimit nofile=1024:1024
  dockerd --data-root "$work/d-data" --exec-root "$run_dir/d-exec" -H "unix://$work/d.sock" \
    --pidfile "$work/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
    --ip-forward=false --ip-masq=false "${extra[@]}" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  eng_wait_api "${ddock[@]}" && return 0
  echo "note: dockerd did not start: docker skipped; its log:" >&2
  tail -n 5 "$work/dockerd.log" >&2
  return 1
}

eng_start_podman() {
  command -v podman >/dev/null || { echo "note: podman not installed: skipped" >&2; return 1; }
  printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
  export CONTAINERS_CONF=$work/containers.conf
  podman_used=1
}

# eng_import ENGINE (berthd|dockerd|podman): busybox:latest from the tarball.
eng_import() {
  eng_tarball
  case $1 in
    berthd) "${bdock[@]}" import "$work/busybox.tar" busybox:latest ;;
    dockerd) "${ddock[@]}" import "$work/busybox.tar" busybox:latest ;;
    podman) "${pod[@]}" import "$work/busybox.tar" busybox:latest ;;
  esac >/dev/null
}

# (`berth run --help` exits 0 even without a run command: look for it in the subcommand list.)
eng_berth_cli_has_run() {
  local h
  [[ -x $berth_cli ]] || return 1
  h=$("$berth_cli" --help 2>/dev/null) || true
  grep -qE '^ +run( |$)' <<<"$h"
}

# eng_rm_all DOCKER-CLI...: remove every container of that daemon.
eng_rm_all() {
  local ids=()
  mapfile -t ids < <("$@" ps -aq 2>/dev/null)
  [[ ${#ids[@]} -eq 0 ]] || "$@" rm -f "${ids[@]}" >/dev/null 2>&1 || true
}

eng_stop_berthd() {
  [[ -n $berthd_pid ]] || return 0
  eng_rm_all "${bdock[@]}"
  eng_stop_pid "$berthd_pid"
  wait "$berthd_pid" 2>/dev/null || true
  berthd_pid=
  local p
  for p in $(eng_pids_naming "$work/b-") $(eng_pids_naming "$run_dir/b-"); do
    echo "note: leftover berth process $p: killed" >&2
    kill -9 "$p" 2>/dev/null || true
  done
  # berthd names a container's cgroups berth-<id>; any of ours still there is a leak: report it
  # and remove it (the ids come from berthd's own log).
  local id d
  sed -n 's/.*created container \([0-9a-f]\{64\}\).*/\1/p' "$work/berthd.log" | sort -u |
  while read -r id; do
    for d in /sys/fs/cgroup/*/berth-"$id"; do
      [[ -d $d ]] || continue
      echo "note: berthd left cgroup $d: removed" >&2
      rmdir "$d" 2>/dev/null || true
    done
  done
}

eng_stop_dockerd() {
  [[ -n $dockerd_pid ]] || return 0
  eng_rm_all "${ddock[@]}"
  "${ddock[@]}" rmi -f busybox:latest >/dev/null 2>&1 || true
  eng_stop_pid "$dockerd_pid" 30
  wait "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=
  local p
  for p in $(eng_pids_naming "$work/d-") $(eng_pids_naming "$run_dir/d-"); do  # containerd, shims
    echo "note: leftover docker process $p: stopped" >&2
    eng_stop_pid "$p" 5
  done
}

eng_stop_podman() {
  [[ $podman_used == 1 ]] || return 0
  "${pod[@]}" rm -a -f -t 0 >/dev/null 2>&1 || true
  "${pod[@]}" system reset -f >/dev/null 2>&1 || true
  podman_used=0
  local p
  for p in $(eng_pids_naming "$work/p-") $(eng_pids_naming "$run_dir/p-"); do  # conmon
    echo "note: leftover podman process $p: killed" >&2
    kill -9 "$p" 2>/dev/null || true
  done
}

eng_cleanup() {
  set +e
  eng_stop_berthd
  eng_stop_dockerd
  eng_stop_podman
  # anything still mounted below the temp dir (deepest first)
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  local c d p
  for c in "${eng_new_cgroups[@]}"; do
    for d in /sys/fs/cgroup/*/"$c" /sys/fs/cgroup/"$c"; do
      [[ -d $d ]] || continue
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [[ -d $d ]] && echo "note: cgroup $d still busy: left in place" >&2
    done
  done
  for p in "${eng_new_paths[@]}"; do rm -rf "$p"; done
}

# stats FILE: "median p90 min max" of the numbers in FILE (p90: nearest rank).
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
    printf "%.1f %.1f %.1f %.1f\n", m, v[r], v[1], v[NR] }'
}
