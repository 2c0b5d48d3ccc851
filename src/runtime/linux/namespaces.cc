// Namespace planning and joining.
#include "runtime/linux/namespaces.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

base::Status JoinNamespaces(const NamespacePlan& plan, bool skip_pid) {
  for (const auto& j : plan.joins) {
    if (skip_pid && j.flag == CLONE_NEWPID) continue;
    if (::setns(j.fd.get(), j.flag) != 0)
      return base::Fail(base::Error::FromErrno(errno, fmt::format("setns {}", j.type)));
  }
  return {};
}

base::Status BringLoopbackUp() {
  sys::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return base::Fail(base::Error::FromErrno(errno, "loopback: socket"));
  struct ifreq ifr = {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0)
    return base::Fail(base::Error::FromErrno(errno, "loopback: get flags of lo"));
  if (ifr.ifr_flags & IFF_UP) return {};
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0)
    return base::Fail(base::Error::FromErrno(errno, "loopback: bring lo up"));
  return {};
}

base::Result<sys::UniqueFd> NewNetworkNamespace() {
  auto home = TRY_CTX(sys::Open("/proc/thread-self/ns/net", O_RDONLY), "network namespace");
  if (::unshare(CLONE_NEWNET) != 0)
    return base::Fail(base::Error::FromErrno(errno, "unshare network namespace"));
  auto made = sys::Open("/proc/thread-self/ns/net", O_RDONLY);
  base::Status up = made ? BringLoopbackUp() : base::Status{};
  if (::setns(home.get(), CLONE_NEWNET) != 0) {
    // Stranded in a namespace of our own: nothing this thread does next can be trusted.
    std::fprintf(stderr, "setns back to the host network namespace: %s\n", std::strerror(errno));
    std::abort();
  }
  if (!made) return base::Fail(made.error());
  TRY(up);
  return std::move(*made);
}

bool UseSpareNetworkNamespace(NamespacePlan& plan, int netns) {
  if (netns < 0 || !plan.HasNew(CLONE_NEWNET) || plan.Has(CLONE_NEWUSER)) return false;
  int fd = ::fcntl(netns, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return false;
  plan.new_flags &= ~static_cast<unsigned long>(CLONE_NEWNET);
  plan.joins.push_back({CLONE_NEWNET, "network", sys::UniqueFd(fd)});
  return true;
}

}  // namespace berth::runtime::linux
