#!/usr/bin/env bats
# mounts.bats: root.readonly, tmpfs and bind mounts with options, masked and read-only paths, the
# /dev the runtime must provide, sysctls and the cgroup mount.

load helpers

# mount_line DEST: print the /proc/mounts line for DEST (inside the container).
mount_line_cmd() { echo "awk '\$2 == \"$1\"' /proc/mounts"; }

@test "root.readonly: / is read-only, mounts on top stay writable" {
  cfg '.root.readonly = true'
  set_cmd 'touch /file 2>&1; touch /dev/shm/ok && echo shm-writable'
  run run_fg
  assert_success
  assert_match "${lines[0]}" 'Read-only file system' "touch /"
  assert_eq "${lines[1]}" shm-writable "tmpfs on a read-only root"
  [[ ! -e $ROOTFS/file ]] || fail "file created in the read-only rootfs"
}

@test "tmpfs mount: options applied, missing destination created" {
  cfg '.mounts += [{"destination": "/mnt/new/tmpfs", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]}]'
  set_cmd "$(mount_line_cmd /mnt/new/tmpfs); stat -c %a /mnt/new/tmpfs"
  run run_fg
  assert_success
  local -a f
  read -r -a f <<<"${lines[0]}"
  assert_eq "${f[2]}" tmpfs "fs type"
  local opt
  for opt in rw nosuid nodev noexec size=1024k mode=1770; do
    [[ ,${f[3]}, == *,$opt,* ]] || fail "option $opt missing: ${f[3]}"
  done
  assert_eq "${lines[1]}" 1770 "mode of the mount point"
  [[ -d $ROOTFS/mnt/new/tmpfs ]] || fail "mount point not created in the rootfs"
}

@test "bind mount rw: host dir readable and writable from inside" {
  mkdir "$TESTDIR/host-rw"
  echo from-host >"$TESTDIR/host-rw/hello"
  cfg '.mounts += [{"destination": "/mnt/rw", "type": "bind", "source": $src,
                    "options": ["rbind", "rw"]}]' --arg src "$TESTDIR/host-rw"
  set_cmd 'cat /mnt/rw/hello && echo from-container > /mnt/rw/new'
  run run_fg
  assert_success
  assert_eq "$output" from-host "read through the bind"
  assert_eq "$(cat "$TESTDIR/host-rw/new")" from-container "write through the bind"
}

@test "bind mount ro: writes fail inside, host dir stays writable" {
  mkdir "$TESTDIR/host-ro"
  echo from-host >"$TESTDIR/host-ro/hello"
  cfg '.mounts += [{"destination": "/mnt/ro", "type": "bind", "source": $src,
                    "options": ["rbind", "ro"]}]' --arg src "$TESTDIR/host-ro"
  set_cmd "cat /mnt/ro/hello; touch /mnt/ro/new 2>&1; $(mount_line_cmd /mnt/ro)"
  run run_fg
  assert_success
  assert_eq "${lines[0]}" from-host "read through the bind"
  assert_match "${lines[1]}" 'Read-only file system' "write through a ro bind"
  local -a f
  read -r -a f <<<"${lines[2]}"
  [[ ,${f[3]}, == *,ro,* ]] || fail "ro missing from the mount options: ${f[3]}"
  [[ ! -e $TESTDIR/host-ro/new ]] || fail "file created through a ro bind"
  touch "$TESTDIR/host-ro/host-write" || fail "ro bind made the host dir read-only"
}

@test "bind mount of a single file" {
  echo file-content >"$TESTDIR/host-file"
  cfg '.mounts += [{"destination": "/etc/berth-file", "type": "bind", "source": $src,
                    "options": ["bind", "ro"]}]' --arg src "$TESTDIR/host-file"
  set_args cat /etc/berth-file
  run run_fg
  assert_success
  assert_eq "$output" file-content "file content"
}

@test "maskedPaths: files read empty, directories list empty" {
  # /proc/kcore is missing on kernels without CONFIG_PROC_KCORE (this reference VM): then the
  # mask is skipped and it must stay missing. /proc/interrupts and /sys/firmware exist everywhere.
  cfg '.linux.maskedPaths = ["/proc/kcore", "/proc/keys", "/proc/interrupts", "/sys/firmware"]'
  set_cmd 'if [ -e /proc/kcore ]; then wc -c < /proc/kcore; else echo 0; fi
           wc -c < /proc/keys; wc -c < /proc/interrupts; ls -A /sys/firmware | wc -l'
  run run_fg
  assert_success
  assert_eq "$(echo $output)" "0 0 0 0" "bytes of kcore, keys, interrupts; entries of /sys/firmware"
}

@test "readonlyPaths: /proc/sys is read-only even with CAP_SYS_ADMIN" {
  cfg '.linux.readonlyPaths = ["/proc/sys", "/proc/sysrq-trigger"]
       | .process.capabilities |= map_values(. + ["CAP_SYS_ADMIN"])'
  # (2>&1 inside: the runtime may copy stdout and stderr separately, reordering them)
  set_cmd "{ echo x > /proc/sys/kernel/hostname; } 2>&1; $(mount_line_cmd /proc/sys)"
  run run_fg
  assert_success
  assert_match "${lines[0]}" 'Read-only file system' "write to /proc/sys"
  local -a f
  read -r -a f <<<"${lines[1]}"
  [[ ,${f[3]}, == *,ro,* ]] || fail "/proc/sys mount is not ro: ${lines[1]}"
}

@test "/dev: required nodes and symlinks" {
  set_cmd 'for d in null zero full random urandom tty; do
             test -c /dev/$d && echo "$d $(stat -c %t:%T /dev/$d)"; done
           for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
           echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c'
  run run_fg
  assert_success
  local want
  want=$(
    cat <<'EOF'
null 1:3
zero 1:5
full 1:7
random 1:8
urandom 1:9
tty 5:0
fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
ptmx -> pts/ptmx
4
4
EOF
  )
  assert_eq "$output" "$want" "/dev"
}

@test "sysctl: net.ipv4.ip_forward=1 in a new netns, host unchanged" {
  local host
  host=$(cat /proc/sys/net/ipv4/ip_forward)
  local want=1
  [[ $host == 1 ]] && want=0
  cfg '.linux.sysctl = {"net.ipv4.ip_forward": $v}' --arg v "$want"
  set_args cat /proc/sys/net/ipv4/ip_forward
  run run_fg
  assert_success
  assert_eq "$output" "$want" "ip_forward inside"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host" "ip_forward on the host"
}

@test "sysctl: a net.* key without a private netns is refused" {
  cfg '.linux.namespaces |= map(select(.type != "network"))
       | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
  local host
  host=$(cat /proc/sys/net/ipv4/ip_forward)
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" 'net\.ipv4\.ip_forward|sysctl' "error message"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host" "ip_forward on the host"
  assert_no_state "$CID"
}

@test "cgroup mount: the container's cgroups are visible read-only at /sys/fs/cgroup" {
  set_cmd "$(mount_line_cmd /sys/fs/cgroup); $(mount_line_cmd /sys/fs/cgroup/memory)
           ls /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max \
              /sys/fs/cgroup/cgroup.controllers 2>/dev/null
           touch /sys/fs/cgroup/memory/x /sys/fs/cgroup/x 2>&1 | head -n1"
  run run_fg
  assert_success
  if cgroup_v2; then
    assert_match "$output" '(^|'$'\n'')cgroup2? /sys/fs/cgroup cgroup2 ro' "cgroup2 mount"
    assert_match "$output" '/sys/fs/cgroup/cgroup.controllers' "cgroup.controllers"
  else
    assert_match "$output" '/sys/fs/cgroup/memory cgroup ro,' "v1 memory mount"
    assert_match "$output" '/sys/fs/cgroup/memory/memory.limit_in_bytes' "memory controller files"
    assert_match "$output" '/sys/fs/cgroup/pids/pids.max' "pids controller files"
  fi
  assert_match "$output" 'Read-only file system' "write to the cgroup mount"
}
