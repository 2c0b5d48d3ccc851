// Tests for namespace planning and the network namespace made ahead (root needed for the last).
#include "runtime/linux/namespaces.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace berth::runtime::linux {
namespace {

ino_t NetnsInode(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 ? st.st_ino : 0;
}

TEST(NamespacesTest, NewNetworkNamespaceLeavesTheCallerWhereItWasWithLoUp) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ino_t home = NetnsInode("/proc/thread-self/ns/net");
  auto made = NewNetworkNamespace();
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(NetnsInode("/proc/thread-self/ns/net"), home);
  struct stat st;
  ASSERT_EQ(::fstat(made->get(), &st), 0);
  EXPECT_NE(st.st_ino, home);
  // In a child that joins it: lo is up there.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setns(made->get(), CLONE_NEWNET) != 0) _exit(2);
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) _exit(3);
    _exit((ifr.ifr_flags & IFF_UP) ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(NamespacesTest, SpareNetworkNamespaceReplacesOnlyANewOneWithoutUserNamespace) {
  auto plan_of = [](std::vector<oci::Namespace> ns) { return PlanNamespaces(ns).value(); };
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // stands in: only its number is used
  ASSERT_GE(fd, 0);
  NamespacePlan plan = plan_of({{"pid", ""}, {"network", ""}, {"mount", ""}});
  EXPECT_TRUE(UseSpareNetworkNamespace(plan, fd));
  EXPECT_FALSE(plan.HasNew(CLONE_NEWNET));
  EXPECT_TRUE(plan.Has(CLONE_NEWNET));
  EXPECT_TRUE(plan.HasNew(CLONE_NEWPID) && plan.HasNew(CLONE_NEWNS));
  ASSERT_EQ(plan.joins.size(), 1u);
  EXPECT_EQ(plan.joins[0].flag, CLONE_NEWNET);
  EXPECT_NE(plan.joins[0].fd.get(), fd);  // a duplicate: the caller keeps its own

  NamespacePlan user = plan_of({{"user", ""}, {"network", ""}});
  EXPECT_FALSE(UseSpareNetworkNamespace(user, fd));
  EXPECT_TRUE(user.HasNew(CLONE_NEWNET));
  NamespacePlan host_net = plan_of({{"pid", ""}});
  EXPECT_FALSE(UseSpareNetworkNamespace(host_net, fd));
  EXPECT_TRUE(host_net.joins.empty());
  NamespacePlan none = plan_of({{"network", ""}});
  EXPECT_FALSE(UseSpareNetworkNamespace(none, -1));
  EXPECT_TRUE(none.HasNew(CLONE_NEWNET));
  ::close(fd);
}

}  // namespace
}  // namespace berth::runtime::linux
