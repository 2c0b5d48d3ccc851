# helpers.bash: setup, teardown and helpers shared by the runtime integration suite (bats-core).
#
# Each test gets its own temp dir ($TESTDIR) holding the runtime's --root ($STATE_ROOT), a fresh
# busybox bundle ($BUNDLE, rootfs at $ROOTFS) and a unique container id ($CID; extra containers
# in a test use "$CID-<suffix>"). Teardown force-deletes every container under $STATE_ROOT, runs
# the cleanups the test registered, and then fails the test if anything leaked: a process carrying
# the test's tag, a cgroup dir named after $CID, or a mount mentioning $TESTDIR.
#
# Runtime under test, first match wins:
#   BERTH_TEST_RUNTIME (path or command name)  - e.g. BERTH_TEST_RUNTIME=$(command -v runc)
#   RUNTIME                                    - explicit, as `RUNTIME=... bats file.bats`
#   RUNTIME_DEFAULT (set by ctest) or <repo>/build/cmd/berth-runtime, if they exist
# If none exists every test is skipped with "berth-runtime not built" (ctest reports the file as
# skipped); set BERTH_TEST_REQUIRE_RUNTIME=1 to fail instead.
#
# Processes are found by a tag: setup exports BERTH_IT_TAG=$CID, so every process the test starts
# on the host inherits it, and the bundle's process.env carries it into the container. Tests that
# write their own process.json must keep process.env from config.json (see process_json).

bats_require_minimum_version 1.5.0  # run -N, run --separate-stderr

IT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IT_DIR/../.." && pwd)"

# Prints the runtime path; returns 1 if there is none, 2 if one was named but is unusable.
berth_resolve_runtime() {
  local named
  for named in "${BERTH_TEST_RUNTIME:-}" "${RUNTIME:-}"; do
    [[ -n $named ]] || continue
    if [[ $named != */* ]]; then
      named=$(command -v "$named") || return 2
    fi
    [[ -x $named ]] || return 2
    echo "$named"
    return 0
  done
  local c
  for c in "${RUNTIME_DEFAULT:-}" "$REPO_ROOT/build/cmd/berth-runtime"; do
    if [[ -n $c && -x $c ]]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# Runs once per file: resolves the runtime so every test sees the same one.
setup_file() {
  local rc=0
  RUNTIME=$(berth_resolve_runtime) || rc=$?
  export RUNTIME
  export BERTH_IT_RUNTIME_STATUS=$rc
  # First line of --version, e.g. "runc version 1.1.5+ds1": lets tests name runc's deviations.
  BERTH_IT_RUNTIME_VERSION=""
  if [[ $rc -eq 0 ]]; then
    BERTH_IT_RUNTIME_VERSION=$("$RUNTIME" --version 2>/dev/null | head -n1) || true
  fi
  export BERTH_IT_RUNTIME_VERSION
}

# runc_deviation VERSION_REGEX REASON: the expectation that follows is ours (per the runtime-spec
# or a caller's need) and the runc matching VERSION_REGEX (e.g. '1\.1\.') is known to deviate:
# skip the test there, run it everywhere else. Keep such tests small so the rest stays covered.
runc_deviation() {
  if is_runc "$1"; then
    skip "known runc deviation ($BERTH_IT_RUNTIME_VERSION): $2"
  fi
}

# is_runc VERSION_REGEX: the runtime under test is a runc matching VERSION_REGEX. For a deviation
# inside a larger test; say why at the call site.
is_runc() { [[ $BERTH_IT_RUNTIME_VERSION =~ ^runc\ version\ $1 ]]; }

# berth_setup: the per-test setup. A file that needs more defines its own setup() calling it.
setup() { berth_setup; }

berth_setup() {
  case ${BERTH_IT_RUNTIME_STATUS:-1} in
    0) ;;
    2) echo "runtime named by BERTH_TEST_RUNTIME/RUNTIME is not executable:" \
         "'${BERTH_TEST_RUNTIME:-${RUNTIME:-}}'" >&2
       return 1 ;;
    *) if [[ ${BERTH_TEST_REQUIRE_RUNTIME:-0} == 1 ]]; then
         echo "no runtime: build cmd/berth-runtime or set BERTH_TEST_RUNTIME" >&2
         return 1
       fi
       skip "berth-runtime not built (set BERTH_TEST_RUNTIME=\$(command -v runc) to test runc)" ;;
  esac
  [[ $EUID -eq 0 ]] || skip "integration tests need root"

  local base=${BERTH_IT_TMPDIR:-${TMPDIR:-/tmp}}
  mkdir -p "$base"
  TESTDIR=$(mktemp -d "$base/berth-it.XXXXXX")
  STATE_ROOT=$TESTDIR/state
  BUNDLE=$TESTDIR/bundle
  ROOTFS=$BUNDLE/rootfs
  # Fixed-width random part: no id is a prefix of another test's id (leak checks match "*$CID*").
  CID=berthit-${BATS_TEST_NUMBER}-$$-$(printf %05d "$RANDOM")
  CLEANUPS=()
  mkdir -p "$STATE_ROOT"
  # Never let a container inherit bats' fd 3 by accident (bats waits on it).
  "$IT_DIR/make-bundle.sh" "$BUNDLE" sleep 3600 3>&-
  export BERTH_IT_TAG=$CID
  cfg '.process.env += ["BERTH_IT_TAG=" + $tag]' --arg tag "$CID"
}

# ---------------------------------------------------------------------------------------------
# Running the runtime.

# rt ARGS...: the runtime with this test's --root.
rt() {
  "$RUNTIME" --root "$STATE_ROOT" "$@"
}

# rt_bg ARGS...: a runtime command whose container (or exec'd process) outlives it: create,
# run -d, exec -d. The container's stdio goes to $TESTDIR/ctr.out and ctr.err (appended), never
# to a pipe of the test, so `run rt_bg ...` cannot hang; the runtime's own stderr lands in ctr.err
# too and is echoed to stderr on failure so `run` captures it.
rt_bg() {
  local mark rc=0
  mark=$(stat -c %s "$TESTDIR/ctr.err" 2>/dev/null || echo 0)
  "$RUNTIME" --root "$STATE_ROOT" "$@" </dev/null >>"$TESTDIR/ctr.out" 2>>"$TESTDIR/ctr.err" \
    3>&- || rc=$?
  if [[ $rc -ne 0 ]]; then tail -c +"$((mark + 1))" "$TESTDIR/ctr.err" >&2; fi
  return "$rc"
}

# create_ctr [ID] [create flags...]: create with the test bundle and pid file $TESTDIR/<ID>.pid.
create_ctr() {
  local id=${1:-$CID}
  shift || true
  rt_bg create --bundle "$BUNDLE" --pid-file "$TESTDIR/$id.pid" "$@" "$id"
}

# run_ctr_d [ID] [run flags...]: run -d with the test bundle.
run_ctr_d() {
  local id=${1:-$CID}
  shift || true
  rt_bg run -d --bundle "$BUNDLE" --pid-file "$TESTDIR/$id.pid" "$@" "$id"
}

# run_fg [run flags...]: foreground run of the test bundle as $CID; use with bats' `run`.
run_fg() {
  rt run --bundle "$BUNDLE" "$@" "$CID" </dev/null 3>&-
}

# ctr_exec [FLAGS...] ID CMD...: foreground exec (flags before the id); use with bats' `run`.
ctr_exec() {
  rt exec "$@" </dev/null 3>&-
}

# ---------------------------------------------------------------------------------------------
# Editing config.json.

# cfg FILTER [jq args...]: apply a jq filter to $BUNDLE/config.json in place.
cfg() {
  local filter=$1
  shift
  jq "$@" "$filter" <"$BUNDLE/config.json" >"$BUNDLE/config.json.new"
  mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: process.args = ARG... (passed with --arg, so "-c" stays an argument).
set_args() {
  local jq_args=() list="" i
  for ((i = 1; i <= $#; i++)); do
    jq_args+=(--arg "a$i" "${!i}")
    list+="${list:+,}\$a$i"
  done
  cfg ".process.args = [$list]" "${jq_args[@]}"
}

# set_cmd SCRIPT: process.args = sh -c SCRIPT.
set_cmd() { set_args sh -c "$1"; }

# process_json FILE ARG...: write a process.json for `exec --process` from config.json's process
# (keeps env, user, caps) with args ARG...
process_json() {
  local file=$1
  shift
  local jq_args=() list="" i
  for ((i = 1; i <= $#; i++)); do
    jq_args+=(--arg "a$i" "${!i}")
    list+="${list:+,}\$a$i"
  done
  jq "${jq_args[@]}" ".process | .args = [$list]" <"$BUNDLE/config.json" >"$file"
}

# ---------------------------------------------------------------------------------------------
# Waiting and inspecting.

# retry N DELAY CMD...: run CMD until it succeeds, at most N times, DELAY seconds apart.
retry() {
  local n=$1 delay=$2 i
  shift 2
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    sleep "$delay"
  done
  echo "retry: '$*' still failing after $n attempts" >&2
  return 1
}

# ctr_status ID: prints .status from `state`.
# exited_or_zombie PID: the process is gone or waits to be reaped.
exited_or_zombie() { [[ ! -e /proc/$1/stat || $(awk '{print $3}' "/proc/$1/stat") == Z ]]; }
ctr_status() { rt state "$1" 2>/dev/null | jq -r .status; }
ctr_pid() { rt state "$1" | jq -r .pid; }

status_is() { [[ $(ctr_status "$1") == "$2" ]]; }

# wait_status ID STATUS: wait up to 10 s for the container to reach STATUS.
wait_status() { retry 50 0.2 status_is "$1" "$2"; }

# wait_file FILE: wait up to 10 s for FILE to be non-empty.
wait_file() { retry 50 0.2 test -s "$1"; }

# cgroup_dir CONTROLLER PID: the host path of PID's cgroup for a v1 controller, or its unified
# (v2) cgroup when CONTROLLER is not mounted as v1.
cgroup_dir() {
  local ctrl=$1 pid=$2 line path
  while IFS= read -r line; do
    local ctrls=${line#*:}
    ctrls=${ctrls%%:*}
    path=${line#*:*:}
    if [[ ,$ctrls, == *",$ctrl,"* && -d /sys/fs/cgroup/$ctrl ]]; then
      echo "/sys/fs/cgroup/$ctrl$path"
      return 0
    fi
  done <"/proc/$pid/cgroup"
  line=$(grep '^0::' "/proc/$pid/cgroup") || return 1
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo "/sys/fs/cgroup${line#0::}"
  else
    echo "/sys/fs/cgroup/unified${line#0::}"
  fi
}

# cgroup_v2: the host is unified (pure cgroup v2).
cgroup_v2() { [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; }

# recvtty_start: the console-socket receiver (recvtty.py) on $TESTDIR/tty.sock, in the
# background ($RECVTTY_PID, killed at teardown), writing what the pty shows to $TESTDIR/tty.out;
# returns once the socket exists. recvtty_wait: waits for it to end (it does when the container's
# last slave fd closes) and fails the test if it failed.
recvtty_start() {
  python3 "$IT_DIR/recvtty.py" "$TESTDIR/tty.sock" "$TESTDIR/tty.out" \
    2>"$TESTDIR/recvtty.err" 3>&- &
  RECVTTY_PID=$!
  kill_on_teardown "$RECVTTY_PID"
  retry 50 0.1 test -S "$TESTDIR/tty.sock"
}
recvtty_wait() {
  local rc=0
  wait "$RECVTTY_PID" || rc=$?
  assert_eq "$rc" 0 "recvtty exit status ($(cat "$TESTDIR/recvtty.err"))"
}

# sha256 FILE
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# on_teardown CMD...: run CMD (eval'd) in teardown, before the leak checks, last first.
on_teardown() { CLEANUPS+=("$*"); }

# kill_on_teardown PID: SIGKILL a helper process the test started, in teardown.
kill_on_teardown() { on_teardown "kill -KILL $1 2>/dev/null; wait $1 2>/dev/null"; }

# ---------------------------------------------------------------------------------------------
# Teardown and leak checks.

# Pids (other than ours) whose environment carries this test's tag, zombies excluded.
tagged_pids() {
  local f pid
  for f in $(grep -lsxzF "BERTH_IT_TAG=$CID" /proc/[0-9]*/environ); do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) == Z ]] && continue
    [[ -e /proc/$pid ]] && echo "$pid"
  done
}

leaked_cgroups() {
  find /sys/fs/cgroup/ -mindepth 1 -maxdepth 8 -type d -name "*$CID*" 2>/dev/null
}

leaked_mounts() {
  grep -F -e "$TESTDIR" -e "berth-escape-$CID" /proc/self/mountinfo
}

no_leaks() {
  [[ -z $(tagged_pids) && -z $(leaked_cgroups) && -z $(leaked_mounts) ]]
}

teardown() {
  [[ -n ${TESTDIR:-} && -d ${TESTDIR:-} ]] || return 0
  # Our own helper processes from here on must not look like leaks.
  export -n BERTH_IT_TAG
  local failed=0 id c i

  local ids
  local -a dirs=("$STATE_ROOT"/*/)
  ids=$( { rt list -q 2>/dev/null; [[ -d ${dirs[0]} ]] && basename -a "${dirs[@]}"; } | sort -u)
  for id in $ids; do
    rt delete --force "$id" >/dev/null 2>&1 || echo "teardown: delete --force $id failed" >&2
  done
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUPS[i]}" || true
  done

  # SIGKILLed processes and their cgroups take a moment to go.
  for ((i = 0; i < 50; i++)); do
    no_leaks && break
    sleep 0.1
  done

  local pids cgs mnts
  pids=$(tagged_pids)
  cgs=$(leaked_cgroups)
  mnts=$(leaked_mounts)
  if [[ -n $pids ]]; then
    failed=1
    echo "LEAK: processes from this test still alive:" >&2
    for c in $pids; do
      echo "  $c: $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)" >&2
    done
    for c in $pids; do kill -KILL "$c" 2>/dev/null || true; done
  fi
  if [[ -n $mnts ]]; then
    failed=1
    echo "LEAK: mounts mentioning the test dir:" >&2
    echo "$mnts" | sed 's/^/  /' >&2
    # Deepest first.
    awk '{print $5}' <<<"$mnts" | sort -r | while read -r c; do umount -l "$c" 2>/dev/null; done
  fi
  if [[ -n $cgs ]]; then
    failed=1
    echo "LEAK: cgroup dirs named after the container:" >&2
    echo "$cgs" | sed 's/^/  /' >&2
    sleep 0.5
    sort -r <<<"$cgs" | while read -r c; do rmdir "$c" 2>/dev/null; done
  fi
  local state
  state=$(state_left "$CID*")
  if [[ -n $state || -n $(rt list -q 2>/dev/null) ]]; then
    failed=1
    echo "LEAK: state left under --root after delete --force: $state $(rt list -q 2>/dev/null)" >&2
  fi

  rm -rf "$TESTDIR"
  return "$failed"
}

# ---------------------------------------------------------------------------------------------
# Assertions (bats-assert is not packaged for Debian 12).

fail() {
  echo "FAIL: $*" >&2
  return 1
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
  [[ $1 == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"
}

# assert_match TEXT REGEX [WHAT]: extended regex match.
assert_match() {
  [[ $1 =~ $2 ]] || fail "${3:-text} does not match /$2/: '$1'"
}

assert_not_match() {
  if [[ $1 =~ $2 ]]; then fail "${3:-text} matches /$2/: '$1'"; fi
}

# assert_status N: bats' $status after `run`.
assert_status() {
  [[ $status -eq $1 ]] || fail "exit status: expected $1, got $status; output: $output"
}

assert_failure() {
  [[ $status -ne 0 ]] || fail "expected failure, got status 0; output: $output"
}

assert_success() {
  [[ $status -eq 0 ]] || fail "expected success, got status $status; output: $output"
}

# state_left PATTERN: files or dirs under --root named PATTERN (a runtime may lay its state out
# as it likes, but every layout names something after the container id).
state_left() {
  find "$STATE_ROOT" -mindepth 1 -maxdepth 3 -name "$1" 2>/dev/null
}

# assert_no_state ID: nothing under --root for ID and `state` says it does not exist.
# (Uses `run`: $output and $status are replaced.)
assert_no_state() {
  [[ -z $(state_left "$1") ]] || fail "state left behind for $1: $(state_left "$1")"
  run rt state "$1"
  assert_failure
}
