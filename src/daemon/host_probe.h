// Probes the host facts GenerateSpec needs (capability bounding set, rlimits, cgroup mode,
// kernel, thermal_throttle dirs). Best effort: a fact that cannot be read keeps its default,
// because a missing /proc file must not stop container creation.
#pragma once

#include "daemon/spec/generate.h"

namespace berth::daemon {

// Reads /proc/self/status (CapBnd), /proc/sys/kernel/cap_last_cap, getrlimit, /sys/fs/cgroup,
// uname and /sys/devices/system/cpu/cpu*/thermal_throttle. Lookups (path_exists,
// lookup_device) are filled with stat(2)-based implementations.
spec::HostFacts ProbeSpecHostFacts();

}  // namespace berth::daemon
