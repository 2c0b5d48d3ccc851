#!/usr/bin/env bats
# namespaces.bats: linux.namespaces: new pid/net/ipc/uts/mnt namespaces, hostname and domainname,
# user namespaces with id mappings, and joining an existing namespace by path.

load helpers

@test "uts: hostname is set, the host's is untouched" {
  local host_name
  host_name=$(hostname)
  cfg '.hostname = "berth-test-host"'
  set_args hostname
  run run_fg
  assert_success
  assert_eq "$output" berth-test-host hostname
  assert_eq "$(hostname)" "$host_name" "host hostname"
}

@test "uts: domainname is set, the host's is untouched" {
  runc_deviation '1\.[01]\.' "domainname is supported from runc 1.2 on (runtime-spec 1.1)"
  local host_domain
  host_domain=$(cat /proc/sys/kernel/domainname)
  cfg '.domainname = "berth.example"'
  set_args cat /proc/sys/kernel/domainname
  run run_fg
  assert_success
  assert_eq "$output" berth.example domainname
  assert_eq "$(cat /proc/sys/kernel/domainname)" "$host_domain" "host domainname"
}

@test "pid: the process is pid 1 and sees only its own processes" {
  set_cmd 'echo $$; ls -d /proc/[0-9]* | wc -l'
  run run_fg
  assert_success
  assert_eq "${lines[0]}" 1 "pid"
  # sh, ls and wc (a subshell at most): far below the host's process count
  [[ ${lines[1]} -le 4 ]] || fail "container sees ${lines[1]} processes"
}

@test "net: a new network namespace has only lo" {
  set_cmd 'ls /sys/class/net'
  run run_fg
  assert_success
  assert_eq "$output" lo "interfaces"
}

@test "net: the new network namespace has lo up, as runc's" {
  set_args cat /sys/class/net/lo/flags
  run run_fg
  assert_success
  # IFF_UP is bit 0
  [[ $((output & 1)) -eq 1 ]] || fail "lo is down: $output"
}

@test "the process starts with no signal ignored, whatever its launcher ignored" {
  set_args grep ^SigIgn /proc/self/status
  # as a daemon ignoring SIGPIPE, or a shell's background job ignoring SIGINT and SIGQUIT, would
  ignoring_launcher() {
    trap '' PIPE INT QUIT
    run_fg
  }
  run ignoring_launcher
  assert_success
  assert_eq "$output" "SigIgn:	0000000000000000" "ignored signals"
}

@test "new pid, net, ipc, uts and mnt namespaces differ from the host's" {
  set_cmd 'for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done'
  run run_fg
  assert_success
  local i=0 n
  for n in pid net ipc uts mnt; do
    [[ ${lines[i]} == "$n:["* ]] || fail "$n: unexpected '${lines[i]}'"
    [[ ${lines[i]} != "$(readlink /proc/self/ns/$n)" ]] || fail "$n namespace is the host's"
    i=$((i + 1))
  done
}

@test "a namespace type left out of the config is shared with the runtime's caller" {
  cfg '.linux.namespaces |= map(select(.type != "network" and .type != "ipc"))'
  set_cmd 'readlink /proc/self/ns/net; readlink /proc/self/ns/ipc'
  run run_fg
  assert_success
  assert_eq "${lines[0]}" "$(readlink /proc/self/ns/net)" "net namespace"
  assert_eq "${lines[1]}" "$(readlink /proc/self/ns/ipc)" "ipc namespace"
}

@test "user: uid/gid mappings, uid 0 inside is 100000 outside" {
  cfg '.linux.namespaces += [{"type": "user"}]
       | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
       | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
  # The mapped root must be able to reach and own its rootfs.
  chmod 755 "$TESTDIR" "$BUNDLE"
  local d=$TESTDIR
  while d=$(dirname "$d") && [[ $d != / ]]; do
    [[ $(($(stat -c '0%a' "$d") & 1)) -eq 1 ]] ||
      fail "$d is not traversable for the mapped uid: point BERTH_IT_TMPDIR elsewhere"
  done
  chown -R 100000:100000 "$ROOTFS"
  chown -R 101000:101000 "$ROOTFS/home/user"
  set_cmd 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox
           touch /tmp/w && echo rootfs-writable; exec sleep 3600'
  run run_ctr_d
  assert_success
  retry 50 0.1 grep -q -e rootfs-writable -e sleep "$TESTDIR/ctr.out"
  sleep 0.2
  local out
  mapfile -t out <"$TESTDIR/ctr.out"
  assert_eq "${out[0]}" 0 "uid inside"
  assert_eq "${out[1]}" 0 "gid inside"
  assert_eq "$(echo ${out[2]})" "0 100000 65536" uid_map
  assert_eq "$(echo ${out[3]})" "0 100000 65536" gid_map
  assert_eq "${out[4]}" 0:0 "rootfs owner inside"
  assert_eq "${out[5]}" rootfs-writable "rootfs write"
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  assert_match "$(grep ^Uid: /proc/$pid/status)" '^Uid:[[:space:]]+100000[[:space:]]' "host uid"
  assert_match "$(grep ^Gid: /proc/$pid/status)" '^Gid:[[:space:]]+100000[[:space:]]' "host gid"
  [[ $(readlink /proc/$pid/ns/user) != "$(readlink /proc/self/ns/user)" ]] ||
    fail "user namespace is the host's"
  # Files created inside belong to the mapped id on the host.
  assert_eq "$(stat -c %u:%g "$ROOTFS/tmp/w")" 100000:100000 "owner of a file created inside"
  # exec joins the user namespace too
  run ctr_exec "$CID" cat /proc/self/uid_map
  assert_success
  assert_eq "$(echo $output)" "0 100000 65536" "uid_map via exec"
}

@test "net: joining an existing network namespace by path" {
  local ns=$CID
  ip netns add "$ns"
  on_teardown "ip netns del '$ns'"
  local want
  want=net:[$(stat -L -c %i "/var/run/netns/$ns")]
  cfg '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
    --arg p "/var/run/netns/$ns"
  set_cmd 'readlink /proc/self/ns/net; ls /sys/class/net'
  run run_fg
  assert_success
  assert_eq "${lines[0]}" "$want" "net namespace"
  assert_eq "${lines[1]}" lo "interfaces"
  # The runtime must not destroy a namespace it did not create.
  [[ -e /var/run/netns/$ns ]] && ip netns exec "$ns" true || fail "netns gone after the run"
}
