#!/usr/bin/env bats
# invalid_config.bats: a bad config.json fails create and run with a non-zero exit, an error on
# stderr that names the field or problem, and nothing left behind: no state dir under --root, no
# cgroup, no process, no mount (the last three are checked by teardown). Two inputs the spec
# tolerates (relative mount destinations, unknown capabilities) must at least be named on stderr.

load helpers

# expect_rejected REGEX: create and run both fail, stderr matches REGEX, no state remains.
expect_rejected() {
  run --separate-stderr create_ctr
  assert_failure
  assert_match "$stderr" "$1" "create's error message"
  assert_no_state "$CID"

  run --separate-stderr rt run --bundle "$BUNDLE" "$CID" </dev/null 3>&-
  assert_failure
  assert_match "$stderr" "$1" "run's error message"
  assert_no_state "$CID"
}

@test "invalid config: malformed JSON (truncated, syntax error)" {
  local problem='[Jj][Ss][Oo][Nn]|config\.json|unexpected|invalid character|parse|syntax'
  printf '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
  expect_rejected "$problem"
  printf '{"ociVersion": "1.0.2", "process": }' >"$BUNDLE/config.json"
  expect_rejected "$problem"
}

@test "invalid config: missing config.json" {
  rm "$BUNDLE/config.json"
  expect_rejected 'config\.json'
}

@test "invalid config: wrong type (process.user.uid is a string)" {
  cfg '.process.user.uid = "x"'
  expect_rejected 'uid'
}

@test "relative mount destination: refused, or mounted relative to / with a warning" {
  # runtime-spec config.md (Linux): destination SHOULD be absolute; a relative one MAY be
  # accepted for compatibility and MUST then be interpreted relative to "/" (deprecated).
  # runc 1.1 accepts it with a warning. Either way the runtime must say so on stderr.
  cfg '.mounts += [{"destination": "mnt/relative", "type": "tmpfs", "source": "tmpfs"}]'
  set_cmd "awk '\$2 ~ /relative/ {print \$2}' /proc/mounts"
  run --separate-stderr run_fg
  assert_match "$stderr" 'mnt/relative|destination' "warning or error naming the destination"
  if [[ $status -eq 0 ]]; then
    assert_eq "$output" /mnt/relative "where the mount landed"
  else
    assert_no_state "$CID"
  fi
}

@test "invalid config: unknown namespace type" {
  cfg '.linux.namespaces += [{"type": "berthfoo"}]'
  expect_rejected 'berthfoo'
}

@test "invalid config: empty process.args" {
  cfg '.process.args = []'
  expect_rejected 'args'
}

@test "invalid config: missing rootfs" {
  rm -rf "$ROOTFS"
  expect_rejected 'rootfs|root|no such file'
}

@test "unknown capability name: named on stderr (runtime-spec 1.1: a warning, not a failure)" {
  cfg '.process.capabilities.bounding += ["CAP_BERTH_BOGUS"]'
  set_args true
  run --separate-stderr run_fg
  assert_match "$stderr" 'CAP_BERTH_BOGUS' "stderr"
}

@test "invalid config: unknown rlimit type" {
  cfg '.process.rlimits += [{"type": "RLIMIT_BERTH_BOGUS", "soft": 1, "hard": 1}]'
  expect_rejected 'RLIMIT_BERTH_BOGUS'
}
