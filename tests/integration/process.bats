#!/usr/bin/env bats
# process.bats: what config.json's "process" object sets up: env, cwd, user, umask, capabilities,
# no_new_privileges, oom_score_adj, rlimits, seccomp and the terminal (--console-socket).

load helpers

@test "the container process gets the caller's CPU affinity (run and exec), not the setup pin" {
  [[ $(nproc --all) -ge 2 ]] || skip "needs two CPUs"
  set_args sh -c 'grep Cpus_allowed_list /proc/self/status'
  run taskset -c 0-1 "$RUNTIME" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null 3>&-
  assert_success
  assert_match "$output" 'Cpus_allowed_list:[[:space:]]+0-1$' "affinity of run's process"
  run taskset -c 1 "$RUNTIME" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$CID-b" </dev/null 3>&-
  assert_success
  assert_match "$output" 'Cpus_allowed_list:[[:space:]]+1$' "affinity under a pinned caller"
  set_args sleep 30
  run_ctr_d
  run taskset -c 0-1 "$RUNTIME" --root "$STATE_ROOT" exec "$CID" grep Cpus_allowed_list /proc/self/status </dev/null 3>&-
  assert_success
  assert_match "$output" 'Cpus_allowed_list:[[:space:]]+0-1$' "affinity of an exec'd process"
}

@test "process.env is the environment" {
  cfg '.process.env += ["BERTH_FOO=bar baz", "EMPTY="]'
  set_args env
  run run_fg
  assert_success
  assert_match "$output" '(^|'$'\n'')BERTH_FOO=bar baz('$'\n''|$)' env
  assert_match "$output" '(^|'$'\n'')EMPTY=('$'\n''|$)' env
  assert_match "$output" '(^|'$'\n'')PATH=/' env
}

@test "process.env without HOME gets the user's home from the rootfs's /etc/passwd, as runc" {
  cfg '.process.env = ["PATH=/bin"]'
  set_args sh -c 'echo $HOME'
  run run_fg
  assert_success
  assert_eq "$output" /root "HOME of uid 0"
  cfg '.process.user.uid = 1000 | .process.user.gid = 1000'
  run run_fg
  assert_success
  assert_eq "$output" /home/user "HOME of uid 1000"
  cfg '.process.user.uid = 4242'
  run run_fg
  assert_success
  assert_eq "$output" / "HOME of a uid without an entry"
}

@test "process.cwd" {
  cfg '.process.cwd = "/home/user"'
  set_args pwd
  run run_fg
  assert_success
  assert_eq "$output" /home/user cwd
}

@test "process.user: uid, gid and additionalGids" {
  cfg '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 65534]}'
  set_cmd 'echo "$(id -u) $(id -g)"; grep ^Groups: /proc/self/status'
  run run_fg
  assert_success
  assert_eq "${lines[0]}" "1000 1000" "uid gid"
  local groups
  groups=$(cut -f2 <<<"${lines[1]}" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
  assert_eq "$groups" "10 65534 " "supplementary groups"
}

@test "process.user.umask" {
  cfg '.process.user.umask = 63' # 0077
  set_cmd 'umask; touch /tmp/f; stat -c %a /tmp/f'
  run run_fg
  assert_success
  assert_eq "${lines[0]}" 0077 umask
  assert_eq "${lines[1]}" 600 "mode of a new file"
}

@test "process.capabilities: CapEff/CapPrm/CapBnd match the config, CapInh/CapAmb empty" {
  # CAP_CHOWN (0) + CAP_KILL (5) = 0x21
  cfg '.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"],
                                "effective": ["CAP_CHOWN", "CAP_KILL"],
                                "permitted": ["CAP_CHOWN", "CAP_KILL"]}'
  set_args grep ^Cap /proc/self/status
  run run_fg
  assert_success
  local want=0000000000000021
  assert_match "$output" "CapEff:[[:space:]]+$want" CapEff
  assert_match "$output" "CapPrm:[[:space:]]+$want" CapPrm
  assert_match "$output" "CapBnd:[[:space:]]+$want" CapBnd
  assert_match "$output" "CapInh:[[:space:]]+0000000000000000" CapInh
  assert_match "$output" "CapAmb:[[:space:]]+0000000000000000" CapAmb
}

@test "process.capabilities: a dropped capability is really gone (chown fails without CAP_CHOWN)" {
  cfg '.process.capabilities = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                "permitted": ["CAP_KILL"]}'
  set_cmd 'touch /tmp/f && chown 1000 /tmp/f'
  run run_fg
  assert_failure
  assert_match "$output" 'Operation not permitted' output
}

@test "process.noNewPrivileges: NoNewPrivs is 1 when set, 0 when not" {
  set_args grep ^NoNewPrivs: /proc/self/status
  cfg '.process.noNewPrivileges = true'
  run run_fg
  assert_success
  assert_match "$output" 'NoNewPrivs:[[:space:]]+1$' "with noNewPrivileges"
  cfg '.process.noNewPrivileges = false'
  run run_fg
  assert_success
  assert_match "$output" 'NoNewPrivs:[[:space:]]+0$' "without noNewPrivileges"
}

@test "process.oomScoreAdj" {
  cfg '.process.oomScoreAdj = 500'
  set_args cat /proc/self/oom_score_adj
  run run_fg
  assert_success
  assert_eq "$output" 500 oom_score_adj
}

@test "process.rlimits: RLIMIT_NOFILE 1024 is applied" {
  cfg '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]'
  set_cmd "ulimit -n; awk '/^Max open files/ {print \$4, \$5}' /proc/self/limits"
  run run_fg
  assert_success
  assert_eq "${lines[0]}" 1024 "ulimit -n"
  assert_eq "${lines[1]}" "1024 1024" "soft hard"
}

@test "process.rlimits: above the caller's hard limit without CAP_SYS_RESOURCE fails clearly" {
  # Bit 24 of the bounding set is CAP_SYS_RESOURCE; with it the raise would be allowed.
  local bnd
  bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (((0x$bnd >> 24) & 1)) && skip "this host can raise RLIMIT_NOFILE (has CAP_SYS_RESOURCE)"
  local want=$(($(ulimit -Hn) + 10000)) # 30000 on the reference host (hard limit 20000)
  cfg '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": $n, "hard": $n}]' --argjson n "$want"
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" '[Rr][Ll][Ii][Mm][Ii][Tt]|NOFILE' "error message"
  assert_no_state "$CID"
}

@test "linux.seccomp: defaultAction ALLOW with mkdir/mkdirat -> EPERM" {
  cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                       "errnoRet": 1}]}'
  set_cmd 'touch /tmp/file-ok && echo touch-ok; mkdir /tmp/dir'
  run --separate-stderr run_fg
  assert_failure
  assert_eq "$output" touch-ok "allowed syscall"
  assert_match "$stderr" 'Operation not permitted' "mkdir error"
}

@test "linux.seccomp: SCMP_ACT_NOTIFY hands the listener and the state to listenerPath" {
  local sock=$TESTDIR/agent.sock
  cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $sock,
                         "listenerMetadata": "berth-test",
                         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' \
    --arg sock "$sock"
  set_cmd 'mkdir /tmp/dir 2>&1; echo done'
  python3 "$IT_DIR/seccomp_agent.py" "$sock" "$TESTDIR/agent.json" 3>&- &
  local apid=$!
  kill_on_teardown "$apid"
  retry 50 0.1 test -S "$sock"
  run run_fg
  assert_success
  wait "$apid"
  assert_eq "$(cat "$TESTDIR/agent.json.fd")" fd "listener fd passed"
  local s
  s=$(cat "$TESTDIR/agent.json")
  assert_eq "$(jq -r '.fds[0]' <<<"$s")" seccompFd "fds"
  assert_eq "$(jq -r .metadata <<<"$s")" berth-test "metadata"
  assert_eq "$(jq -r .state.id <<<"$s")" "$CID" "state.id"
  assert_match "$(jq -r .pid <<<"$s")" '^[1-9][0-9]*$' "pid"
  # The agent closed the listener without answering: the notified syscall fails with ENOSYS.
  assert_match "$output" 'Function not implemented' "mkdir result"
}

@test "process.terminal: the pty master arrives on --console-socket and is the process's tty" {
  cfg '.process.terminal = true'
  set_cmd 'test -t 0 && test -t 1 && test -t 2 && echo tty-ok; tty; stty size'
  recvtty_start
  run create_ctr "$CID" --console-socket "$TESTDIR/tty.sock"
  assert_success
  run rt start "$CID"
  assert_success
  recvtty_wait
  local out
  out=$(tr -d '\r' <"$TESTDIR/tty.out")
  assert_match "$out" 'tty-ok' "terminal output"
  assert_match "$out" '/dev/(pts/[0-9]+|console)' "tty name"
  assert_match "$(cat "$TESTDIR/recvtty.err")" 'recvtty: pty ' "pty name message"
}

@test "process.terminal without --console-socket on create is an error" {
  cfg '.process.terminal = true'
  run create_ctr
  assert_failure
  assert_no_state "$CID"
}

@test "--console-socket without process.terminal is an error" {
  run create_ctr "$CID" --console-socket "$TESTDIR/unused.sock"
  assert_failure
  assert_no_state "$CID"
}
