#!/usr/bin/env bats
# security.bats: regression tests for container-escape classes (shared/reference/oci-runtime.md §5):
# CVE-2019-5736 (/proc/self/exe overwrite), CVE-2024-21626 (leaked fds, cwd via /proc/self/fd),
# CVE-2021-30465 (mount destination through a symlink), CVE-2019-16884 (/proc a symlink),
# CVE-2022-0811 (sysctl injection), CVE-2022-29162 (inheritable caps), mask bypass.

load helpers

# --------------------------------------------------------------------------------------------
# CVE-2019-5736

@test "CVE-2019-5736: the container cannot overwrite the runtime binary via /proc/N/exe" {
  # Attack a copy, never the installed runtime.
  local copy=$TESTDIR/runtime-copy before
  cp "$RUNTIME" "$copy"
  chmod 755 "$copy"
  before=$(sha256 "$copy")
  RUNTIME=$copy

  # A script whose interpreter is /proc/self/exe runs whatever binary execs it: if exec's helper
  # is the host runtime binary, the container gets to run (and open) that binary.
  printf '#!/proc/self/exe\n' >"$ROOTFS/evil"
  chmod 755 "$ROOTFS/evil"
  # Write to every /proc/N/exe directly, and through a held fd reopened for writing once the
  # process is gone (the original exploit's O_PATH trick; ETXTBSY protects only while it runs).
  # (A failed `exec 3<` would end the shell: redirect a compound command instead.)
  set_cmd 'while :; do
             for p in /proc/[0-9]*; do
               [ "$p" = /proc/1 ] && continue
               echo x > $p/exe
               { usleep 20000; echo x > /proc/self/fd/3; } 3< $p/exe
             done 2>/dev/null
           done'
  run_ctr_d
  local i
  for i in 1 2 3 4 5 6 7 8; do
    run ctr_exec "$CID" true
    assert_success
    run ctr_exec "$CID" /evil
    run ctr_exec "$CID" sh -c 'usleep 100000'
  done
  assert_eq "$(ctr_status "$CID")" running "status of the attacking container"
  rt delete --force "$CID"
  assert_eq "$(sha256 "$copy")" "$before" "sha256 of the runtime binary"
  run "$copy" --version
  assert_success
}

@test "CVE-2019-5736: run, create and exec execute the runtime from a read-only view of its file" {
  local copy=$TESTDIR/runtime-copy pid
  cp "$RUNTIME" "$copy"
  chmod 755 "$copy"
  set_args sleep 30
  "$copy" --root "$STATE_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&- &
  pid=$!
  on_teardown "kill -9 $pid 2>/dev/null; '$copy' --root '$STATE_ROOT' delete --force '$CID' 2>/dev/null"
  wait_status "$CID" running
  # The foreground runtime (and so every init it clones) executes from a read-only mount: a
  # reopen of /proc/<pid>/exe for writing fails with EROFS, not only ETXTBSY while it runs.
  run python3 -c 'import os, sys; print(bool(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY))' \
    "/proc/$pid/exe"
  assert_eq "$output" True "read-only mount under /proc/$pid/exe"
  # The file on the host stays writable for its owner (upgrades replace it as usual).
  run python3 -c 'import os, sys; print(bool(os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY))' "$copy"
  assert_eq "$output" False "the host file's own mount"
  "$copy" --root "$STATE_ROOT" kill "$CID" KILL
  wait "$pid" || true
}

# --------------------------------------------------------------------------------------------
# CVE-2024-21626 ("Leaky Vessels")

@test "CVE-2024-21626: no fd leaks into the container process (run)" {
  set_args ls /proc/self/fd
  # Offer the runtime fds it must not pass on: a file and a directory on the host.
  run rt run --bundle "$BUNDLE" "$CID" </dev/null 3>&- 5<"$BUNDLE/config.json" 7<"$ROOTFS"
  assert_success
  # 3 is ls's own directory fd
  assert_eq "$(echo $output)" "0 1 2 3" "fds of the container process"
}

@test "CVE-2024-21626: no fd leaks into an exec'd process" {
  run_ctr_d
  run rt exec "$CID" ls /proc/self/fd </dev/null 3>&- 5<"$BUNDLE/config.json" 7<"$ROOTFS"
  assert_success
  assert_eq "$(echo $output)" "0 1 2 3" "fds of the exec'd process"
  run ctr_exec "$CID" ls /proc/1/fd
  assert_success
  assert_eq "$(echo $output)" "0 1 2" "fds of the container's init (sleep)"
}

# The probe: print the cwd, walk up as far as .. goes and look for a file that exists only on
# the host. A cwd outside the container's root lets .. climb to the host's /.
cwd_probe() {
  echo "readlink /proc/self/cwd; cd ../../../../../../../../../../..;
        if [ -e .$TESTDIR/host-marker ]; then echo ESCAPED-TO-HOST; fi"
}

# check_cwd_result WHAT: after `run`: failure is fine, success must not have left the container.
check_cwd_result() {
  assert_not_match "$output" 'ESCAPED-TO-HOST' "$1"
  assert_not_match "$output" 'unreachable' "$1: cwd outside the container root"
}

@test "CVE-2024-21626: process.cwd /proc/self/fd/N fails or stays inside the container" {
  touch "$TESTDIR/host-marker"
  set_cmd "$(cwd_probe)"
  local n
  for n in 3 4 5 6 7 8 9 10 11 12; do
    cfg '.process.cwd = $c' --arg c "/proc/self/fd/$n"
    run rt run --bundle "$BUNDLE" "$CID-$n" </dev/null 3>&-
    check_cwd_result "cwd /proc/self/fd/$n (status $status)"
    rt delete --force "$CID-$n" 2>/dev/null || true
  done
}

@test "CVE-2024-21626: exec --cwd /proc/self/fd/N fails or stays inside the container" {
  touch "$TESTDIR/host-marker"
  run_ctr_d
  local n
  for n in 3 4 5 6 7 8 9 10; do
    run ctr_exec --cwd "/proc/self/fd/$n" "$CID" sh -c "$(cwd_probe)"
    check_cwd_result "exec --cwd /proc/self/fd/$n (status $status)"
  done
}

# --------------------------------------------------------------------------------------------
# CVE-2021-30465 and friends: mount destinations are resolved inside the rootfs

# check_escape_path: the host path the symlink would lead to stays untouched.
check_no_host_escape() {
  local host=/tmp/berth-escape-$CID
  [[ ! -e $host ]] || fail "$host was created on the host"
  ! grep -qF "berth-escape-$CID" /proc/self/mountinfo || fail "mount on the host: $host"
}

escape_cleanup() {
  on_teardown "umount -l /tmp/berth-escape-$CID 2>/dev/null; rmdir /tmp/berth-escape-$CID 2>/dev/null"
}

@test "CVE-2021-30465: tmpfs destination through 'evil -> /' lands inside the rootfs (or fails)" {
  escape_cleanup
  ln -s / "$ROOTFS/evil"
  cfg '.mounts += [{"destination": $d, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]' \
    --arg d "/evil/tmp/berth-escape-$CID"
  set_cmd "awk '\$2 ~ /berth-escape/ {print \$2}' /proc/mounts"
  run run_fg
  check_no_host_escape
  if [[ $status -eq 0 ]]; then
    assert_eq "$output" "/tmp/berth-escape-$CID" "mount point inside the container"
    [[ -d $ROOTFS/tmp/berth-escape-$CID ]] || fail "mount point not created in the rootfs"
  fi
}

@test "CVE-2021-30465: bind destination through 'evil -> ../../../..' lands inside the rootfs (or fails)" {
  escape_cleanup
  ln -s ../../../.. "$ROOTFS/evil"
  mkdir "$TESTDIR/src"
  cfg '.mounts += [{"destination": $d, "type": "bind", "source": $s, "options": ["rbind"]}]' \
    --arg d "/evil/tmp/berth-escape-$CID" --arg s "$TESTDIR/src"
  set_cmd "awk '\$2 ~ /berth-escape/ {print \$2}' /proc/mounts"
  run run_fg
  check_no_host_escape
  if [[ $status -eq 0 ]]; then
    assert_eq "$output" "/tmp/berth-escape-$CID" "mount point inside the container"
  fi
}

@test "CVE-2019-16884 class: a rootfs whose /proc is a symlink is refused" {
  rmdir "$ROOTFS/proc"
  mkdir "$ROOTFS/fakeproc"
  ln -s /fakeproc "$ROOTFS/proc"
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" 'proc' "error message"
  assert_no_state "$CID"
}

# --------------------------------------------------------------------------------------------
# sysctls, capabilities, masks

@test "CVE-2022-0811 class: host-global sysctls are refused, values are never parsed as keys" {
  local before
  before=$(cat /proc/sys/kernel/core_pattern)
  cfg '.linux.sysctl = {"kernel.core_pattern": "|/bin/berth-evil"}'
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" 'kernel\.core_pattern|sysctl' "error message"
  assert_no_state "$CID"

  cfg '.linux.sysctl = {"kernel.shm_rmid_forced": "1+kernel.core_pattern=|/bin/berth-evil"}'
  set_args true
  run run_fg
  rt delete --force "$CID" 2>/dev/null || true
  assert_eq "$(cat /proc/sys/kernel/core_pattern)" "$before" "host core_pattern"
}

@test "CVE-2022-29162: inheritable and ambient capabilities stay empty for run and exec" {
  cfg '.process.capabilities |= del(.inheritable, .ambient)'
  set_args sleep 3600
  run_ctr_d
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  assert_match "$(grep ^CapInh: /proc/$pid/status)" '0000000000000000$' "CapInh of init"
  run ctr_exec "$CID" grep -E '^Cap(Inh|Amb):' /proc/self/status
  assert_success
  assert_match "${lines[0]}" '0000000000000000$' "CapInh of exec"
  assert_match "${lines[1]}" '0000000000000000$' "CapAmb of exec"
}

@test "masks cannot be undone from a default container (no umount, no fresh procfs)" {
  cfg '.linux.maskedPaths = ["/proc/keys"]'
  set_cmd 'exec 2>/dev/null
           umount /proc/keys 2>/dev/null && echo UMOUNTED
           mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>/dev/null && echo MOUNTED
           echo b > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ
           echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo SYSCTL
           wc -c < /proc/keys'
  run run_fg
  assert_success
  assert_eq "$output" 0 "output (bytes in masked /proc/keys)"
}
