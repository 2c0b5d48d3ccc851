// Namespace bookkeeping: config.json types <-> CLONE_* flags and /proc/<pid>/ns names; which
// namespaces a container creates and which it joins by path.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/runtime_config.h"
#include "sys/unique_fd.h"

namespace berth::runtime::linux {

// "pid" -> CLONE_NEWPID, ... "network" -> CLONE_NEWNET. 0 for unknown types.
int CloneFlagForType(const std::string& type);
// "network" -> "net", "mount" -> "mnt" (the /proc/<pid>/ns entry name).
std::string ProcNsName(const std::string& type);

struct NamespacePlan {
  unsigned long new_flags = 0;  // namespaces to create (CLONE_NEW*), cgroup excluded
  bool new_cgroup = false;      // unshared by the init after it joined its cgroup
  struct Join {
    int flag;
    std::string type;
    sys::UniqueFd fd;
  };
  std::vector<Join> joins;  // user first, then the rest
  bool HasNew(int flag) const { return new_flags & static_cast<unsigned long>(flag); }
  bool Has(int flag) const;  // new or joined
};

// Opens every namespace path now, before any clone, so a failure costs nothing to undo.
base::Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces);
// Joins plan.joins except pid (which the caller joins before cloning: setns on a pid namespace
// affects only children). Runs in the cloned child; the fds stay open (an init that shares
// the caller's memory would otherwise take them from the caller's plan, which then leaks them).
base::Status JoinNamespaces(const NamespacePlan& plan, bool skip_pid);

// SIOCSIFFLAGS on "lo" of the network namespace the calling thread is in: up, as runc's and
// Docker's `--network none` have it (the kernel creates lo down).
base::Status BringLoopbackUp();

// A new network namespace with lo up, held by the returned fd. The calling thread unshares
// into it, opens it and goes back to the namespace it was in. Creating one costs ~0.35 ms here
// (most of a container's clone); berth-shim's standby makes its container's ahead of need.
base::Result<sys::UniqueFd> NewNetworkNamespace();

// Makes `plan` join `netns` (a NewNetworkNamespace) instead of creating a network namespace,
// when it would create one and involves no user namespace (a network namespace belongs to the
// user namespace it was created in). The plan holds a duplicate. Returns whether it did.
bool UseSpareNetworkNamespace(NamespacePlan& plan, int netns);

}  // namespace berth::runtime::linux
