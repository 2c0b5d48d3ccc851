// Device access control on cgroup v2: OCI linux.resources.devices rules compiled into a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup (v2 has no devices
// files). The rules are first reduced the way the v1 devices controller would keep them, so a
// rule list means the same on v1 and v2 (runc's devicefilter does the same).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"

namespace berth::runtime::cgroup::internal {

// One exception to the default: type 'b' or 'c' (0 = both), -1 = any major/minor, access as
// BPF_DEVCG_ACC_* bits.
struct DeviceException {
  char type = 0;
  int64_t major = -1, minor = -1;
  uint32_t access = 0;
  bool operator==(const DeviceException&) const = default;
};

// The state the v1 controller would end in after the rules, starting from allow-all: a default
// and the exceptions that invert it.
struct DeviceFilter {
  bool default_allow = true;
  std::vector<DeviceException> exceptions;
};

// kInvalidArgument for an unknown type or access letter.
base::Result<DeviceFilter> ReduceDeviceRules(const std::vector<oci::DeviceRule>& rules);

// The program: returns 1 (allow) or 0 (deny) for a bpf_cgroup_dev_ctx.
std::vector<struct bpf_insn> BuildDeviceProgram(const DeviceFilter& filter);

// Loads the program for rules and attaches it to cgroup_dir (BPF_F_ALLOW_MULTI), then detaches
// the programs attached there before, so an update never leaves a window without a filter.
base::Status SetDeviceRules(const std::string& cgroup_dir,
                            const std::vector<oci::DeviceRule>& rules);

}  // namespace berth::runtime::cgroup::internal
