// Namespace planning and joining.
#include "runtime/linux/namespaces.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>

#include <algorithm>

#include "sys/file.h"

namespace berth::runtime::linux {

int CloneFlagForType(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  return 0;
}

std::string ProcNsName(const std::string& type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return type;
}

bool NamespacePlan::Has(int flag) const {
  if (HasNew(flag) || (flag == CLONE_NEWCGROUP && new_cgroup)) return true;
  return std::any_of(joins.begin(), joins.end(), [&](const Join& j) { return j.flag == flag; });
}

base::Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespacePlan plan;
  for (const auto& ns : namespaces) {
    int flag = CloneFlagForType(ns.type);
    if (flag == 0)
      return base::Fail(
          base::Error::InvalidArgument(fmt::format("unknown namespace type \"{}\"", ns.type)));
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP)
        plan.new_cgroup = true;
      else
        plan.new_flags |= static_cast<unsigned long>(flag);
      continue;
    }
    auto fd = TRY_CTX(sys::Open(ns.path, O_RDONLY),
                      fmt::format("namespace {} path \"{}\"", ns.type, ns.path));
    plan.joins.push_back({flag, ns.type, std::move(fd)});
  }
  // A joined user namespace must come first: it decides what the others may do.
  std::stable_partition(plan.joins.begin(), plan.joins.end(),
                        [](const NamespacePlan::Join& j) { return j.flag == CLONE_NEWUSER; });
  return plan;
}

base::Status JoinNamespaces(NamespacePlan& plan, bool skip_pid) {
  for (auto& j : plan.joins) {
    if (skip_pid && j.flag == CLONE_NEWPID) continue;
    if (::setns(j.fd.get(), j.flag) != 0)
      return base::Fail(base::Error::FromErrno(errno, fmt::format("setns {}", j.type)));
    j.fd.Reset();
  }
  return {};
}

}  // namespace berth::runtime::linux
