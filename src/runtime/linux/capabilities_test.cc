// Tests for capability names and ApplyCapabilities. Capabilities are applied only in forked
// children, which report /proc/self/status (or an error) back through a pipe.
#include "runtime/linux/capabilities.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>

#include "sys/file.h"

namespace berth::runtime::linux {
namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// Runs body in a forked child; returns what it returned (its report) and the wait status.
std::string InChild(const std::function<std::string()>& body, int* status_out = nullptr) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string report = body();
    (void)sys::WriteAll(p[1], report);
    _exit(0);
  }
  close(p[1]);
  auto out = sys::ReadFd(p[0]);
  close(p[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (status_out) *status_out = status;
  return out ? *out : std::string("<read failed>");
}

uint64_t StatusMask(const std::string& status, const std::string& key) {
  size_t pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return ~uint64_t{0};
  return std::strtoull(status.c_str() + pos + key.size() + 2, nullptr, 16);
}

std::string ApplyAndReport(const oci::Capabilities& caps) {
  auto st = ApplyCapabilities(caps);
  if (!st) return "ERROR " + st.error().message();
  auto status = sys::ReadFile("/proc/self/status");
  return status ? "\n" + *status : "ERROR read status";
}

TEST(CapabilitiesTest, NamesRoundTrip) {
  EXPECT_EQ(CapFromName("CAP_CHOWN").value(), CAP_CHOWN);
  EXPECT_EQ(CapFromName("cap_chown").value(), CAP_CHOWN);
  EXPECT_EQ(CapFromName("chown").value(), CAP_CHOWN);
  EXPECT_EQ(CapFromName("Sys_Admin").value(), CAP_SYS_ADMIN);
  EXPECT_EQ(CapFromName("CAP_NET_BIND_SERVICE").value(), CAP_NET_BIND_SERVICE);
  EXPECT_EQ(CapName(CAP_CHOWN), "CAP_CHOWN");
  EXPECT_EQ(CapName(CAP_SYS_RESOURCE), "CAP_SYS_RESOURCE");
  for (int c = 0; c <= LastCap(); ++c) {
    auto back = CapFromName(CapName(c));
    ASSERT_TRUE(back) << CapName(c) << ": " << back.error().message();
    EXPECT_EQ(*back, c);
  }
}

TEST(CapabilitiesTest, UnknownNames) {
  for (const char* bad : {"CAP_FLY", "", "CAP_", "12", "CAP_12", "cap_all"}) {
    auto r = CapFromName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), base::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message();
  }
  oci::Capabilities caps;
  caps.permitted = {"CAP_CHOWN", "CAP_TELEPORT"};
  // Validation fails before anything changes, so the test process itself is safe.
  auto st = ApplyCapabilities(caps);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message().find("process.capabilities.permitted"), std::string::npos);
  EXPECT_NE(st.error().message().find("CAP_TELEPORT"), std::string::npos);
}

TEST(CapabilitiesTest, LastCapAndBoundingSet) {
  auto text = sys::ReadFile("/proc/sys/kernel/cap_last_cap");
  ASSERT_TRUE(text);
  EXPECT_EQ(LastCap(), std::atoi(text->c_str()));
  auto bnd = BoundingSetOfSelf();
  ASSERT_TRUE(bnd) << bnd.error().message();
  uint64_t by_prctl = 0;
  for (int c = 0; c <= LastCap(); ++c)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) by_prctl |= Bit(c);
  EXPECT_EQ(*bnd, by_prctl);
}

TEST(CapabilitiesTest, ApplySmallSetAsRoot) {
  oci::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
  std::string report = InChild([&] { return ApplyAndReport(caps); });
  ASSERT_EQ(report.rfind("ERROR", 0), std::string::npos) << report;
  const uint64_t want = Bit(CAP_CHOWN) | Bit(CAP_KILL);
  EXPECT_EQ(StatusMask(report, "CapEff"), want);
  EXPECT_EQ(StatusMask(report, "CapPrm"), want);
  EXPECT_EQ(StatusMask(report, "CapBnd"), want);
  EXPECT_EQ(StatusMask(report, "CapInh"), 0u);
  EXPECT_EQ(StatusMask(report, "CapAmb"), 0u);
}

TEST(CapabilitiesTest, ApplyAfterUidChangeWithAmbient) {
  oci::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = caps.inheritable =
      caps.ambient = {"CAP_CHOWN", "CAP_KILL"};
  std::string report = InChild([&]() -> std::string {
    if (auto st = PrepareForUidChange(); !st) return "ERROR " + st.error().message();
    if (setgroups(0, nullptr) != 0 || setresgid(1000, 1000, 1000) != 0 ||
        setresuid(1000, 1000, 1000) != 0)
      return "ERROR uid change";
    return ApplyAndReport(caps);
  });
  ASSERT_EQ(report.rfind("ERROR", 0), std::string::npos) << report;
  const uint64_t want = Bit(CAP_CHOWN) | Bit(CAP_KILL);
  EXPECT_EQ(StatusMask(report, "CapEff"), want);
  EXPECT_EQ(StatusMask(report, "CapPrm"), want);
  EXPECT_EQ(StatusMask(report, "CapBnd"), want);
  EXPECT_EQ(StatusMask(report, "CapInh"), want);
  EXPECT_EQ(StatusMask(report, "CapAmb"), want);
  EXPECT_NE(report.find("\nUid:\t1000\t1000\t1000\t1000"), std::string::npos) << report;
}

TEST(CapabilitiesTest, UidChangeWithoutKeepCapsIsExplained) {
  oci::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN"};
  std::string report = InChild([&]() -> std::string {
    if (setresuid(1000, 1000, 1000) != 0) return "ERROR uid change";
    return ApplyAndReport(caps);
  });
  EXPECT_NE(report.find("ERROR unable to apply caps: CAP_CHOWN is not in the runtime's permitted "
                        "set"),
            std::string::npos)
      << report;
}

TEST(CapabilitiesTest, InconsistentSetsAreRejected) {
  oci::Capabilities caps;
  caps.bounding = caps.permitted = {"CAP_CHOWN"};
  caps.effective = {"CAP_CHOWN", "CAP_KILL"};
  caps.bounding.push_back("CAP_KILL");
  std::string report = InChild([&] { return ApplyAndReport(caps); });
  EXPECT_NE(report.find("CAP_KILL in effective but not in permitted"), std::string::npos) << report;

  // Ambient caps outside permitted & inheritable are skipped, not refused: runc's default
  // config lists ambient caps with an empty inheritable set.
  caps = {};
  caps.bounding = caps.permitted = caps.effective = caps.ambient = {"CAP_CHOWN"};
  report = InChild([&] { return ApplyAndReport(caps); });
  EXPECT_EQ(report.find("ERROR"), std::string::npos) << report;
  EXPECT_NE(report.find("CapAmb:\t0000000000000000"), std::string::npos) << report;

  caps = {};
  caps.bounding = {"CAP_CHOWN"};
  caps.inheritable = {"CAP_KILL"};
  report = InChild([&] { return ApplyAndReport(caps); });
  EXPECT_NE(report.find("CAP_KILL in inheritable but not in bounding"), std::string::npos)
      << report;
}

TEST(CapabilitiesTest, CapTheHostDoesNotGrant) {
  auto bnd = BoundingSetOfSelf();
  ASSERT_TRUE(bnd);
  if (*bnd & Bit(CAP_SYS_RESOURCE)) GTEST_SKIP() << "this host's bounding set has CAP_SYS_RESOURCE";
  oci::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN", "CAP_SYS_RESOURCE"};
  std::string report = InChild([&]() -> std::string {
    std::string r = ApplyAndReport(caps);
    // Nothing may have changed.
    auto after = BoundingSetOfSelf();
    if (!after || *after != *bnd) r += " (bounding set changed)";
    return r;
  });
  EXPECT_EQ(report,
            "ERROR unable to apply caps: CAP_SYS_RESOURCE is not in the runtime's bounding set "
            "(the host does not grant it)");
}

TEST(CapabilitiesTest, EmptySetsDropEverything) {
  std::string report = InChild([] { return ApplyAndReport(oci::Capabilities{}); });
  ASSERT_EQ(report.rfind("ERROR", 0), std::string::npos) << report;
  for (const char* key : {"CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"})
    EXPECT_EQ(StatusMask(report, key), 0u) << key;
}

}  // namespace
}  // namespace berth::runtime::linux
