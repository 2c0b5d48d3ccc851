#!/usr/bin/env bats
# cgroups.bats: linux.resources and linux.cgroupsPath: memory limit enforced (OOM kill), pids limit
# enforced, cpu/cpuset values written, cgroupsPath honoured. Works on v1, hybrid and v2 hosts.

load helpers

# cg_read CONTROLLER PID FILE_V1 FILE_V2: a cgroup file of PID's cgroup, seen from the host.
cg_read() {
  local dir
  dir=$(cgroup_dir "$1" "$2")
  if cgroup_v2; then cat "$dir/$4"; else cat "$dir/$3"; fi
}

@test "memory.limit: allocating past the limit gets the process OOM-killed" {
  cfg '.linux.resources.memory = {"limit": 67108864}'
  # tail holds a line without newline in memory: 200 MiB of anonymous memory against 64 MiB.
  set_cmd 'head -c 200m /dev/zero | tail; echo "pipeline-status=$?"'
  create_ctr
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  local cg
  cg=$(cgroup_dir memory "$pid")
  assert_eq "$(cg_read memory "$pid" memory.limit_in_bytes memory.max)" 67108864 "memory limit"
  rt start "$CID"
  wait_status "$CID" stopped
  assert_eq "$(cat "$TESTDIR/ctr.out")" pipeline-status=137 "tail's fate"
  local kills
  if cgroup_v2; then
    kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events")
  else
    kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.oom_control")
  fi
  [[ ${kills:-0} -ge 1 ]] || fail "no oom_kill recorded in $cg"
}

@test "pids.limit: forking past the limit fails" {
  cfg '.linux.resources.pids = {"limit": 10}'
  set_cmd 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
           n=0; while [ $n -lt 30 ]; do sleep 60 & n=$((n + 1)); echo $n > /tmp/forks; done
           echo all-forked'
  run --separate-stderr run_fg
  assert_eq "${lines[0]}" 10 "pids.max inside the container"
  assert_not_match "$output" 'all-forked' output
  assert_match "$stderr" "can't fork|Resource temporarily unavailable" stderr
  local forks
  forks=$(cat "$ROOTFS/tmp/forks")
  [[ $forks -lt 10 ]] || fail "$forks background processes started under pids.max 10"
}

@test "cpu: shares, quota, period and cpuset.cpus are written to the container's cgroup" {
  cfg '.linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}'
  run_ctr_d
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  if cgroup_v2; then
    assert_eq "$(cg_read cpu "$pid" - cpu.max)" "50000 100000" cpu.max
    [[ $(cg_read cpu "$pid" - cpu.weight) != 100 ]] || fail "cpu.weight left at the default"
  else
    assert_eq "$(cg_read cpu "$pid" cpu.shares -)" 512 cpu.shares
    assert_eq "$(cg_read cpu "$pid" cpu.cfs_quota_us -)" 50000 cpu.cfs_quota_us
    assert_eq "$(cg_read cpu "$pid" cpu.cfs_period_us -)" 100000 cpu.cfs_period_us
  fi
  assert_eq "$(cg_read cpuset "$pid" cpuset.cpus cpuset.cpus)" 0 cpuset.cpus
  assert_eq "$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$pid/status")" 0 "process affinity"
}

@test "v1 cpuset on demand: none without cpuset limits; update --cpuset-cpus creates and joins it" {
  [[ -d /sys/fs/cgroup/cpuset && ! -f /sys/fs/cgroup/cgroup.controllers ]] || skip "needs a cgroup v1 cpuset hierarchy"
  run_ctr_d
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  [[ ! -e /sys/fs/cgroup/cpuset/berth-$CID ]] || fail "a cpuset cgroup was created without cpuset limits"
  assert_eq "$(grep ':cpuset:' "/proc/$pid/cgroup" | cut -d: -f3)" "$(grep ':cpuset:' /proc/self/cgroup | cut -d: -f3)" "cpuset cgroup of the init (the runtime's)"
  [[ -n $(cgroup_dir memory "$pid") ]] || fail "not in its memory cgroup"
  run rt update --cpuset-cpus 0 "$CID"
  assert_success
  assert_eq "$(cat "/sys/fs/cgroup/cpuset/berth-$CID/cpuset.cpus")" 0 cpuset.cpus
  assert_eq "$(cat "/sys/fs/cgroup/cpuset/berth-$CID/cgroup.procs")" "$pid" "processes in the new cpuset"
  assert_eq "$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$pid/status")" 0 "process affinity"
  # An exec joins the cpuset that now exists.
  run rt exec "$CID" sh -c 'grep :cpuset: /proc/self/cgroup' </dev/null 3>&-
  assert_success
  assert_match "$output" ":cpuset:/berth-$CID\$" "cpuset cgroup of an exec'd process"
  rt kill "$CID" KILL
  wait_status "$CID" stopped
  rt delete "$CID"
  [[ ! -e /sys/fs/cgroup/cpuset/berth-$CID ]] || fail "cpuset cgroup left behind after delete"
}

@test "linux.cgroupsPath is honoured" {
  local parent=$CID-parent
  on_teardown "find /sys/fs/cgroup/ -maxdepth 6 -depth -type d -name '$parent' -exec rmdir {} + 2>/dev/null"
  cfg '.linux.cgroupsPath = $p' --arg p "/$parent/$CID"
  run_ctr_d
  local pid dir
  pid=$(cat "$TESTDIR/$CID.pid")
  for ctrl in memory pids cpu; do
    dir=$(cgroup_dir "$ctrl" "$pid")
    [[ $dir == */$parent/$CID ]] || fail "$ctrl cgroup of the container is $dir"
  done
}
