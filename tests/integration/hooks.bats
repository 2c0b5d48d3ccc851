#!/usr/bin/env bats
# hooks.bats: OCI hooks run at the right points, in order, with the state JSON on stdin, their own
# args/env, and a failing or hanging create-phase hook tears the container down.

load helpers

# host_hook NAME: a hook run on the host that saves its stdin to $TESTDIR/hooks/NAME.json, its
# argv0 and env to NAME.info, and appends NAME to $TESTDIR/hooks/order.
host_hook() {
  local d=$TESTDIR/hooks
  jq -n --arg name "$1" --arg d "$d" --arg tag "$CID" '{
    path: "/bin/sh",
    args: ["berth-hook-" + $name, "-c",
           "cat > \($d)/\($name).json; echo \"$0 $HOOK_VAR\" > \($d)/\($name).info; echo \($name) >> \($d)/order"],
    env: ["PATH=/usr/bin:/bin", "HOOK_VAR=set-for-\($name)", "BERTH_IT_TAG=" + $tag]
  }'
}

@test "hooks: prestart, createRuntime, createContainer, startContainer, poststart, poststop" {
  mkdir "$TESTDIR/hooks"
  local h
  for h in prestart createRuntime createContainer poststart poststop; do
    cfg '.hooks[$n] = [$h]' --arg n "$h" --argjson h "$(host_hook "$h")"
  done
  # startContainer runs in the container: path and files are the container's.
  cfg '.hooks.startContainer = [{"path": "/bin/sh",
        "args": ["sh", "-c", "cat > /tmp/startContainer.json; echo startContainer >> /tmp/order"]}]'
  set_cmd 'echo user-process >> /tmp/order; exec sleep 3600'

  run create_ctr
  assert_success
  local pid
  pid=$(cat "$TESTDIR/$CID.pid")
  # (when poststart runs is checked in its own test: runc 1.1 runs it from create)
  assert_match "$(cat "$TESTDIR/hooks/order" | tr '\n' ' ')" "^prestart createRuntime createContainer " \
    "hooks run by create"
  run rt start "$CID"
  assert_success
  retry 50 0.1 grep -q user-process "$ROOTFS/tmp/order"
  retry 50 0.1 grep -q poststart "$TESTDIR/hooks/order"
  assert_eq "$(cat "$ROOTFS/tmp/order" | tr '\n' ' ')" "startContainer user-process " \
    "in-container order"
  rt kill "$CID" KILL
  wait_status "$CID" stopped
  run rt delete "$CID"
  assert_success
  assert_eq "$(cat "$TESTDIR/hooks/order" | tr '\n' ' ')" \
    "prestart createRuntime createContainer poststart poststop " "hook order"

  local s
  for h in prestart createRuntime createContainer poststart poststop; do
    s=$(cat "$TESTDIR/hooks/$h.json")
    assert_eq "$(jq -r .id <<<"$s")" "$CID" "$h: id"
    assert_eq "$(jq -r .bundle <<<"$s")" "$BUNDLE" "$h: bundle"
    assert_eq "$(cat "$TESTDIR/hooks/$h.info")" "berth-hook-$h set-for-$h" "$h: argv0 and env"
  done
  s=$(cat "$ROOTFS/tmp/startContainer.json")
  assert_eq "$(jq -r .id <<<"$s")" "$CID" "startContainer: id"
  assert_eq "$(jq -r .status <<<"$s")" created "startContainer: status"
  for h in prestart createRuntime createContainer; do
    s=$(cat "$TESTDIR/hooks/$h.json")
    assert_match "$(jq -r .status <<<"$s")" '^(creating|created)$' "$h: status"
    # The spec's state.pid is "as seen by the host"; runc 1.x fills in the pid inside the
    # container's pid namespace (1) for createContainer, which runs in that namespace.
    if [[ $h == createContainer ]] && is_runc '1\.' && [[ $(jq -r .pid <<<"$s") == 1 ]]; then
      continue
    fi
    assert_eq "$(jq -r .pid <<<"$s")" "$pid" "$h: pid"
  done
  # poststart's status ("running") is checked with its timing in the next test
  assert_eq "$(jq -r .pid "$TESTDIR/hooks/poststart.json")" "$pid" "poststart: pid"
  s=$(cat "$TESTDIR/hooks/poststop.json")
  assert_eq "$(jq -r .status <<<"$s")" stopped "poststop: status"
}

@test "hooks: poststart runs after start, not during create" {
  runc_deviation '1\.[0-4]\.' "runc runs poststart hooks from create (moved to start by opencontainers/runc#5186)"
  mkdir "$TESTDIR/hooks"
  cfg '.hooks.poststart = [$h]' --argjson h "$(host_hook poststart)"
  create_ctr
  sleep 0.3
  [[ ! -e $TESTDIR/hooks/order ]] || fail "poststart ran during create"
  rt start "$CID"
  retry 50 0.1 test -s "$TESTDIR/hooks/order"
  assert_eq "$(jq -r .status "$TESTDIR/hooks/poststart.json")" running "poststart: status"
  assert_eq "$(jq -r .pid "$TESTDIR/hooks/poststart.json")" "$(cat "$TESTDIR/$CID.pid")" \
    "poststart: pid"
}

@test "hooks: run with prestart and poststart hooks (the init waits for prestart)" {
  mkdir "$TESTDIR/hooks"
  local h
  for h in prestart poststart poststop; do
    cfg '.hooks[$n] = [$h]' --arg n "$h" --argjson h "$(host_hook "$h")"
  done
  set_args true
  run run_fg
  assert_success
  assert_eq "$(cat "$TESTDIR/hooks/order" | tr '\n' ' ')" "prestart poststart poststop " \
    "hook order"
  assert_match "$(jq -r .pid "$TESTDIR/hooks/prestart.json")" '^[1-9][0-9]*$' "prestart: pid"
  assert_eq "$(jq -r .status "$TESTDIR/hooks/poststart.json")" running "poststart: status"
  assert_no_state "$CID"
}

@test "hooks: run with only poststart/poststop hooks (the init does not wait)" {
  mkdir "$TESTDIR/hooks"
  local h
  for h in poststart poststop; do
    cfg '.hooks[$n] = [$h]' --arg n "$h" --argjson h "$(host_hook "$h")"
  done
  set_args sleep 3600
  run run_ctr_d
  assert_success
  retry 50 0.1 test -s "$TESTDIR/hooks/poststart.json"
  assert_eq "$(jq -r .status "$TESTDIR/hooks/poststart.json")" running "poststart: status"
  assert_eq "$(jq -r .pid "$TESTDIR/hooks/poststart.json")" "$(cat "$TESTDIR/$CID.pid")" \
    "poststart: pid"
  rt delete --force "$CID"
  assert_eq "$(cat "$TESTDIR/hooks/order" | tr '\n' ' ')" "poststart poststop " "hook order"
}

@test "hooks: a failing createRuntime hook fails create and leaves nothing behind" {
  cfg '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]'
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" '[Hh]ook' "error message"
  assert_no_state "$CID"
  # teardown checks processes, cgroups and mounts
}

@test "hooks: a failing prestart hook fails create and leaves nothing behind" {
  cfg '.hooks.prestart = [{"path": "/bin/false"}]'
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" '[Hh]ook' "error message"
  assert_no_state "$CID"
}

@test "hooks: a createRuntime hook past its timeout fails create" {
  # The tag in its env lets teardown catch a hook process the runtime failed to kill.
  cfg '.hooks.createRuntime = [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1,
                                "env": ["BERTH_IT_TAG=" + $tag]}]' --arg tag "$CID"
  local t0=$SECONDS
  run --separate-stderr create_ctr
  assert_failure
  [[ $((SECONDS - t0)) -lt 10 ]] || fail "create took $((SECONDS - t0)) s with a 1 s hook timeout"
  assert_no_state "$CID"
}
