#!/usr/bin/env bats
# lifecycle.bats: create/start/state/run/kill/delete/list/ps/pause/resume/update, including the
# error strings that containerd and podman match on (see shared/reference/oci-runtime.md §1).

load helpers

@test "create: pid file is written before create exits, status created, process not started" {
  set_cmd 'echo started; exec sleep 3600'
  run create_ctr
  assert_success
  [[ -s $TESTDIR/$CID.pid ]] || fail "pid file missing right after create"
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  assert_match "$pid" '^[0-9]+$' "pid file"
  kill -0 "$pid"
  assert_eq "$(ctr_status "$CID")" created status
  assert_eq "$(ctr_pid "$CID")" "$pid" "state .pid"
  sleep 0.3
  [[ ! -s $TESTDIR/ctr.out ]] || fail "user process ran before start: $(cat "$TESTDIR/ctr.out")"
}

@test "start: runs the process, status running; a second start fails" {
  set_cmd 'echo started; exec sleep 3600'
  create_ctr
  run rt start "$CID"
  assert_success
  wait_file "$TESTDIR/ctr.out"
  assert_eq "$(cat "$TESTDIR/ctr.out")" started
  assert_eq "$(ctr_status "$CID")" running status
  run rt start "$CID"
  assert_failure
}

@test "state: JSON has ociVersion, id, pid, status, bundle, created, owner" {
  run_ctr_d
  run rt state "$CID"
  assert_success
  local s=$output
  jq -e 'has("ociVersion") and has("id") and has("pid") and has("status") and has("bundle")
         and has("created") and has("owner")' <<<"$s" >/dev/null || fail "fields missing: $s"
  assert_eq "$(jq -r .id <<<"$s")" "$CID" id
  assert_eq "$(jq -r .status <<<"$s")" running status
  assert_eq "$(jq -r .pid <<<"$s")" "$(cat "$TESTDIR/$CID.pid")" pid
  assert_eq "$(jq -r .bundle <<<"$s")" "$BUNDLE" bundle
  assert_match "$(jq -r .ociVersion <<<"$s")" '^1\.[0-9]+\.[0-9]+' ociVersion
  assert_match "$(jq -r .created <<<"$s")" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' created
  assert_eq "$(jq -r '.owner | type' <<<"$s")" string "owner type"
}

@test "state: a bundle reached through a symlink, with a symlinked root.path, is resolved" {
  ln -s "$BUNDLE" "$TESTDIR/bundle-link"
  mv "$ROOTFS" "$BUNDLE/rootfs-real"
  ln -s rootfs-real "$ROOTFS"
  set_cmd 'echo started; exec sleep 3600'
  rt_bg run -d --bundle "$TESTDIR/bundle-link" --pid-file "$TESTDIR/$CID.pid" "$CID"
  wait_file "$TESTDIR/ctr.out"
  assert_eq "$(cat "$TESTDIR/ctr.out")" started
  run rt state "$CID"
  assert_success
  assert_eq "$(jq -r .bundle <<<"$output")" "$(readlink -f "$BUNDLE")" bundle
}

@test "run: foreground exit code is propagated (exit 42) and stdio is the caller's" {
  set_cmd 'echo to-stdout; echo to-stderr >&2; exit 42'
  run --separate-stderr run_fg
  assert_status 42
  assert_eq "$output" to-stdout stdout
  assert_match "$stderr" 'to-stderr' stderr
  # run without --keep deletes the container once it exits
  assert_no_state "$CID"
}

@test "run: exit status of a signalled process is 128+signal" {
  set_args sleep 3600
  run_fg >"$TESTDIR/fg.out" 2>&1 &
  local fg=$! rc=0
  kill_on_teardown "$fg"
  wait_status "$CID" running
  rt kill "$CID" KILL
  wait "$fg" || rc=$?
  assert_eq "$rc" 137 "exit status of run"
}

@test "run: a signal sent to the foreground runtime is forwarded to the container's process" {
  # pid 1 of a pid namespace gets only the signals it handles: the trap makes TERM one of them.
  set_cmd 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
  "$RUNTIME" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null \
    >"$TESTDIR/fg.out" 2>&1 3>&- &
  local fg=$! rc=0
  kill_on_teardown "$fg"
  wait_status "$CID" running
  retry 50 0.1 grep -q ready "$TESTDIR/fg.out"
  kill -TERM "$fg"
  # Not forwarded, it would stay blocked in the runtime: fail instead of hanging in `wait`.
  retry 100 0.1 exited_or_zombie "$fg" || fail "run still running 10 s after SIGTERM"
  wait "$fg" || rc=$?
  assert_eq "$rc" 7 "exit status of run"
  assert_match "$(cat "$TESTDIR/fg.out")" 'got-term' "the container's output"
  assert_no_state "$CID"
}

@test "run: 100 back-to-back runs all succeed (races in setup show up as rare failures)" {
  set_args true
  local i failures=0 err=""
  for ((i = 0; i < 100; i++)); do
    if ! rt run --bundle "$BUNDLE" "$CID-$i" </dev/null >/dev/null 2>"$TESTDIR/err" 3>&-; then
      failures=$((failures + 1))
      err+="run $i: $(cat "$TESTDIR/err")"$'\n'
    fi
  done
  [[ $failures -eq 0 ]] || fail "$failures of 100 runs failed:"$'\n'"$err"
}

@test "run -d: returns at once, container running" {
  run run_ctr_d
  assert_success
  assert_eq "$(ctr_status "$CID")" running status
  kill -0 "$(cat "$TESTDIR/$CID.pid")"
}

# `run` (no user namespace, no hook that waits on the init) sets the container up in one pass
# while the runtime waits (runtime/linux/init.h, parent_suspended): what the init reports then
# travels back after the fact. These pin that path's results.
@test "run: a command that cannot be found fails naming it, with nothing left behind" {
  set_args /bin/berth-no-such-command
  run --separate-stderr run_fg
  assert_failure
  assert_match "$stderr" 'berth-no-such-command' stderr
  assert_no_state "$CID"
}

@test "run: an execve the kernel refuses (not an executable format) fails, nothing left behind" {
  printf 'not a program\n' >"$ROOTFS/bin/berth-not-exec"
  chmod 755 "$ROOTFS/bin/berth-not-exec"
  set_args /bin/berth-not-exec
  run --separate-stderr run_fg
  assert_failure
  assert_match "$stderr" 'berth-not-exec' stderr
  assert_match "$stderr" '[Ee]xec format error' "the kernel's error"
  assert_no_state "$CID"
}

@test "run -d: state, pid file and cgroup are in place when run returns" {
  set_args sleep 3600
  run run_ctr_d
  assert_success
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  assert_eq "$(ctr_pid "$CID")" "$pid" "state pid = pid file"
  assert_eq "$(ctr_status "$CID")" running status
  # The init put itself in the container's cgroups (memory and pids on v1, the one on v2).
  local ctrl dir
  for ctrl in memory pids; do
    dir=$(cgroup_dir "$ctrl" "$pid") || continue
    assert_match "$dir" "$CID" "$ctrl cgroup of the container process"
  done
}

@test "run -d with process.terminal: the pty master arrives on --console-socket" {
  cfg '.process.terminal = true'
  set_cmd 'test -t 0 && test -t 1 && echo tty-ok'
  recvtty_start
  run run_ctr_d "$CID" --console-socket "$TESTDIR/tty.sock"
  assert_success
  recvtty_wait
  assert_match "$(tr -d '\r' <"$TESTDIR/tty.out")" 'tty-ok' "terminal output"
}

@test "kill: default signal is SIGTERM" {
  set_cmd 'trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
  run_ctr_d
  retry 50 0.1 grep -q ready "$TESTDIR/ctr.out"
  run rt kill "$CID"
  assert_success
  wait_status "$CID" stopped
  grep -q got-TERM "$TESTDIR/ctr.out" || fail "trap did not run: $(cat "$TESTDIR/ctr.out")"
}

@test "kill: KILL, 9 and SIGKILL are the same signal" {
  local sig id
  for sig in KILL 9 SIGKILL; do
    id=$CID-$sig
    run_ctr_d "$id"
    run rt kill "$id" "$sig"
    assert_success
    wait_status "$id" stopped
    run rt delete "$id"
    assert_success
    assert_no_state "$id"
  done
}

@test "kill --all: signals every process of the container, not only init" {
  # pid 1 has no TERM handler, so a TERM reaches only the sleeps; init exits once they are gone.
  set_cmd 'sleep 3600 & sleep 3600 & wait; echo children-gone'
  run_ctr_d
  retry 50 0.1 test "$(rt ps --format json "$CID" | jq length)" -ge 3
  run rt kill "$CID" TERM
  assert_success
  sleep 0.5
  assert_eq "$(ctr_status "$CID")" running "status after kill TERM without --all"
  run rt kill --all "$CID" TERM
  assert_success
  wait_status "$CID" stopped
  grep -q children-gone "$TESTDIR/ctr.out"
}

@test "delete: removes a stopped container; refuses a running one without --force" {
  set_cmd 'exit 0'
  run_ctr_d
  wait_status "$CID" stopped
  run rt delete "$CID"
  assert_success
  assert_no_state "$CID"

  set_args sleep 3600
  run_ctr_d "$CID-run"
  run rt delete "$CID-run"
  assert_failure
  assert_eq "$(ctr_status "$CID-run")" running "status after refused delete"
}

@test "delete --force: kills and removes a running container" {
  run_ctr_d
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  run rt delete --force "$CID"
  assert_success
  assert_no_state "$CID"
  retry 50 0.1 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
}

@test "delete --force of a container that does not exist succeeds (podman, containerd rely on it)" {
  run rt delete --force "$CID-nosuch"
  assert_success
}

@test "errors: 'container does not exist' on stderr for state/start/kill/delete/exec" {
  local cmd
  for cmd in state start kill delete "exec" pause resume ps; do
    if [[ $cmd == exec ]]; then
      run --separate-stderr rt exec "$CID-nosuch" true
    else
      run --separate-stderr rt "$cmd" "$CID-nosuch"
    fi
    assert_failure
    assert_match "$stderr" 'container does not exist' "stderr of $cmd"
  done
}

@test "errors: 'container not running' when killing a stopped container" {
  set_cmd 'exit 0'
  run_ctr_d
  wait_status "$CID" stopped
  run --separate-stderr rt kill "$CID" KILL
  assert_failure
  assert_match "$stderr" 'container not running' stderr
}

@test "errors: 'container with given ID already exists'" {
  run_ctr_d
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" 'container with given ID already exists' stderr
  assert_eq "$(ctr_status "$CID")" running "first container after the clash"
}

@test "list: table header, -q and -f json" {
  run_ctr_d
  create_ctr "$CID-b"
  run rt list
  assert_success
  read -r -a header <<<"${lines[0]}"
  assert_eq "${header[*]}" "ID PID STATUS BUNDLE CREATED OWNER" header
  local row
  row=$(grep "^$CID " <<<"$output")
  read -r -a f <<<"$row"
  assert_eq "${f[1]}" "$(cat "$TESTDIR/$CID.pid")" "list pid"
  assert_eq "${f[2]}" running "list status"
  assert_eq "${f[3]}" "$BUNDLE" "list bundle"

  run rt list -q
  assert_success
  assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "$CID $CID-b " "list -q"

  local flag
  for flag in "-f json" "--format json" "--format=json"; do
    # shellcheck disable=SC2086
    run rt list $flag
    assert_success
    assert_eq "$(jq -r 'map(.id + "=" + .status) | sort | join(" ")' <<<"$output")" \
      "$CID-b=created $CID=running" "list $flag"
  done
}

@test "list: empty root prints only the header" {
  run rt list
  assert_success
  assert_eq "${#lines[@]}" 1 "line count"
  run rt list -q
  assert_success
  assert_eq "$output" "" "list -q"
}

@test "ps: table and --format json list the container's host pids" {
  set_cmd 'sleep 3600 & exec sleep 3601'
  run_ctr_d
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  retry 50 0.1 test "$(rt ps --format json "$CID" | jq length)" -eq 2
  run rt ps --format json "$CID"
  assert_success
  jq -e --argjson p "$pid" 'type == "array" and index($p) != null' <<<"$output" >/dev/null ||
    fail "init pid $pid not in $output"
  run rt ps "$CID"
  assert_success
  assert_match "${lines[0]}" 'PID' "ps header"
  assert_match "$output" "[[:space:]]$pid[[:space:]]" "ps table"
}

@test "pause/resume: status paused, cgroup frozen, then running again" {
  run_ctr_d
  local pid cg
  pid=$(cat "$TESTDIR/$CID.pid")
  run rt pause "$CID"
  assert_success
  assert_eq "$(ctr_status "$CID")" paused status
  if cgroup_v2; then
    cg=$(cgroup_dir none "$pid")
    assert_eq "$(cat "$cg/cgroup.freeze")" 1 cgroup.freeze
  else
    cg=$(cgroup_dir freezer "$pid")
    assert_eq "$(cat "$cg/freezer.state")" FROZEN freezer.state
  fi
  run rt resume "$CID"
  assert_success
  assert_eq "$(ctr_status "$CID")" running status
  if cgroup_v2; then
    assert_eq "$(cat "$cg/cgroup.freeze")" 0 cgroup.freeze
  else
    assert_eq "$(cat "$cg/freezer.state")" THAWED freezer.state
  fi
}

# Memory limit as the container sees it in its own /sys/fs/cgroup.
ctr_memory_limit() {
  rt exec "$CID" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null ||
                        cat /sys/fs/cgroup/memory.max' </dev/null 3>&-
}

@test "update --resources=- (JSON on stdin, as containerd's shim does) sets the memory limit" {
  run_ctr_d
  run rt update --resources=- "$CID" <<<'{"memory": {"limit": 134217728}}'
  assert_success
  run ctr_memory_limit
  assert_success
  assert_eq "$output" 134217728 "memory limit inside the container"
}

@test "update --resources FILE (as podman does) and update --memory" {
  run_ctr_d
  echo '{"memory": {"limit": 201326592}}' >"$TESTDIR/res.json"
  run rt update --resources "$TESTDIR/res.json" "$CID"
  assert_success
  run ctr_memory_limit
  assert_eq "$output" 201326592 "memory limit after --resources FILE"
  run rt update --memory 100663296 "$CID"
  assert_success
  run ctr_memory_limit
  assert_eq "$output" 100663296 "memory limit after --memory"
}
