#!/usr/bin/env bats
# cli.bats: the runtime's side channels and less common flags: --version, spec, features,
# --log/--log-format json, --no-pivot, --preserve-fds, --systemd-cgroup, update of cpu and pids.

load helpers

@test "--version: first line names the runtime and version" {
  run rt --version
  assert_success
  assert_match "${lines[0]}" 'version [0-9]' "version line"
}

@test "spec: writes runc's default config; refuses to overwrite" {
  local d=$TESTDIR/specdir
  mkdir -p "$d"
  run rt spec --bundle "$d"
  assert_success
  jq -e '.process.args == ["sh"] and .root.path == "rootfs" and
         (.linux.namespaces | map(.type) | index("pid") != null)' "$d/config.json" >/dev/null ||
    fail "unexpected default config: $(cat "$d/config.json")"
  run rt spec --bundle "$d"
  assert_failure
}

@test "features: runtime-spec features JSON" {
  run rt features
  assert_success
  jq -e '.ociVersionMin and .ociVersionMax and (.linux.namespaces | index("user") != null) and
         (.linux.capabilities | index("CAP_SYS_ADMIN") != null) and .linux.seccomp.enabled' \
    <<<"$output" >/dev/null || fail "features: $output"
}

@test "--log --log-format json: an error is the last line with level error" {
  run rt --log "$TESTDIR/log.json" --log-format json state no-such-container
  assert_failure
  local last
  last=$(grep '"level":"error"' "$TESTDIR/log.json" | tail -n1)
  assert_match "$(jq -r .msg <<<"$last")" 'does not exist' "msg"
  jq -e '.time' <<<"$last" >/dev/null || fail "no time in $last"
}

@test "--no-pivot: the container runs with MS_MOVE + chroot" {
  set_cmd 'cat /proc/self/mountinfo | wc -l; echo ok'
  run run_fg --no-pivot
  assert_success
  assert_match "$output" 'ok' "output"
}

@test "--preserve-fds: fd 3 reaches the container, fd 4 does not" {
  set_cmd 'ls /proc/self/fd | sort -n | tr "\n" " "'
  exec 5>"$TESTDIR/extra"
  run bash -c "exec 3>\"$TESTDIR/passed\" 4>\"$TESTDIR/not-passed\"; \
    \"$RUNTIME\" --root \"$STATE_ROOT\" run --preserve-fds 1 --bundle \"$BUNDLE\" \"$CID\" </dev/null"
  exec 5>&-
  assert_success
  # busybox ls opens one fd of its own for the directory (the highest number).
  assert_match "$output" '^0 1 2 3 [0-9]+ $' "fds"
  assert_not_match "$output" '^0 1 2 3 4 5 ' "fds"
}

@test "--systemd-cgroup: accepted, container runs" {
  cfg '.linux.cgroupsPath = "berthit.slice:berthit:'"$CID"'"'
  # The slice is a parent we asked for (as systemd would have made it): remove it after the test.
  on_teardown "rmdir /sys/fs/cgroup/*/berthit.slice 2>/dev/null || true"
  set_cmd 'echo ok'
  run rt --systemd-cgroup run --bundle "$BUNDLE" "$CID" </dev/null
  assert_success
  assert_eq "$output" ok output
}

@test "update: cpu quota and pids limit reach the cgroup" {
  run_ctr_d
  run rt update --cpu-quota 50000 --cpu-period 100000 --pids-limit 42 "$CID"
  assert_success
  run rt exec "$CID" cat /sys/fs/cgroup/pids/pids.max
  if [[ $status -ne 0 ]]; then run rt exec "$CID" cat /sys/fs/cgroup/pids.max; fi
  assert_eq "$output" 42 "pids.max"
  run rt exec "$CID" sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null ||
    cut -d" " -f1 /sys/fs/cgroup/cpu.max'
  assert_eq "$output" 50000 "cpu quota"
}
