#!/usr/bin/env bats
# exec.bats: `exec` into a running container: exit codes, --process, -d/--pid-file, -e, --cwd,
# --user, and the 255 that runc's callers expect when the process cannot be started.

load helpers

setup() {
  berth_setup
  run_ctr_d
}

@test "exec: exit code of the process is the exit code of exec" {
  run ctr_exec "$CID" sh -c 'echo in-exec; exit 7'
  assert_status 7
  assert_eq "$output" in-exec output
}

@test "exec --process FILE: runs process.json" {
  process_json "$TESTDIR/process.json" sh -c 'echo from-process-json; exit 3'
  run ctr_exec --process "$TESTDIR/process.json" "$CID"
  assert_status 3
  assert_eq "$output" from-process-json output
}

@test "exec -d --pid-file: detached process runs in the container's namespaces" {
  run rt_bg exec -d --pid-file "$TESTDIR/exec.pid" "$CID" sleep 3600
  assert_success
  [[ -s $TESTDIR/exec.pid ]] || fail "exec pid file missing"
  local epid ipid ns
  epid=$(cat "$TESTDIR/exec.pid")
  ipid=$(cat "$TESTDIR/$CID.pid")
  kill -0 "$epid"
  assert_eq "$(tr '\0' ' ' <"/proc/$epid/cmdline")" "sleep 3600 " "exec'd cmdline"
  for ns in pid mnt net ipc uts; do
    assert_eq "$(readlink "/proc/$epid/ns/$ns")" "$(readlink "/proc/$ipid/ns/$ns")" "$ns namespace"
  done
  run rt ps --format json "$CID"
  jq -e --argjson p "$epid" 'index($p) != null' <<<"$output" >/dev/null ||
    fail "exec'd pid $epid not in ps: $output"
}

@test "exec -e VAR=x: merged with the config env (PATH kept, duplicates overridden)" {
  run ctr_exec -e BERTH_VAR=x -e TERM=dumb "$CID" env
  assert_success
  assert_match "$output" '(^|'$'\n'')BERTH_VAR=x('$'\n''|$)' env
  assert_match "$output" '(^|'$'\n'')PATH=/' "PATH from config.json"
  assert_match "$output" '(^|'$'\n'')TERM=dumb('$'\n''|$)' TERM
  assert_eq "$(grep -c '^TERM=' <<<"$output")" 1 "TERM entries"
}

@test "exec --cwd /tmp" {
  run ctr_exec --cwd /tmp "$CID" pwd
  assert_success
  assert_eq "$output" /tmp cwd
}

@test "exec --user 1000:1000" {
  run ctr_exec --user 1000:1000 "$CID" sh -c 'echo $(id -u):$(id -g)'
  assert_success
  assert_eq "$output" 1000:1000 "uid:gid"
}

@test "exec: a missing binary exits 255 with an error" {
  run --separate-stderr ctr_exec "$CID" /no/such/binary
  assert_status 255
  assert_match "$stderr" 'no such file|not found|No such file' stderr
}

@test "exec: into a stopped container fails" {
  rt kill "$CID" KILL
  wait_status "$CID" stopped
  run ctr_exec "$CID" true
  assert_failure
}
