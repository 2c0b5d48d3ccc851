// Privileged test on the real host (ctest label "privileged"): creates "/berth-test-<pid>" in
// every hierarchy, moves a forked child in, limits, freezes, kills and removes it, and checks
// that nothing named after it is left behind even when an assertion fails half-way.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/strings.h"
#include "runtime/cgroup/fs.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/cgroup/tuning.h"
#include "sys/file.h"

namespace berth::runtime::cgroup {
namespace {

// The child: waits for one-letter commands and answers them, so the test can act from inside
// the cgroup. 'o': try /dev/null (rw) and /dev/zero (r), answer "y"/"n" for each.
// 'm': touch 8 MiB, answer "k". 'f': fork a task that exits at once, answer "y" or "n" (the
// fork failed). EOF (the test died): exit.
[[noreturn]] void ChildLoop(int cmd, int reply) {
  char c;
  while (::read(cmd, &c, 1) == 1) {
    if (c == 'o') {
      int a = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      int b = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
      char r[2] = {a >= 0 ? 'y' : 'n', b >= 0 ? 'y' : 'n'};
      if (a >= 0) ::close(a);
      if (b >= 0) ::close(b);
      (void)!::write(reply, r, 2);
    } else if (c == 'm') {
      size_t len = 8 << 20;
      void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) std::memset(p, 1, len);
      (void)!::write(reply, "k", 1);
    } else if (c == 'f') {
      pid_t pid = ::fork();
      if (pid == 0) ::_exit(0);
      if (pid > 0) ::waitpid(pid, nullptr, 0);
      (void)!::write(reply, pid > 0 ? "y" : "n", 1);
    }
  }
  ::_exit(0);
}

class HostCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto layout = DetectHostLayout();
    if (!layout) GTEST_SKIP() << layout.error().message();
    layout_ = *layout;
    name_ = "berth-test-" + std::to_string(::getpid());
    if (!layout_.unified_mount.empty()) {
      auto sc = sys::ReadFile(layout_.unified_mount + "/cgroup.subtree_control");
      if (sc) root_subtree_control_ = std::string(base::Trim(*sc));
    }
    int cmd[2], reply[2];
    ASSERT_EQ(::pipe2(cmd, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(reply, O_CLOEXEC), 0);
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      ::close(cmd[1]);
      ::close(reply[0]);
      ChildLoop(cmd[0], reply[1]);
    }
    ::close(cmd[0]);
    ::close(reply[1]);
    cmd_ = cmd[1];
    reply_ = reply[0];
  }

  void TearDown() override {
    if (::geteuid() != 0 || name_.empty()) return;
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    if (cmd_ >= 0) ::close(cmd_);
    if (reply_ >= 0) ::close(reply_);
    for (auto& m : managers_) {
      auto st = m->Destroy();
      EXPECT_TRUE(st) << st.error().message();
    }
    // Whatever a failed test left: remove it, then insist it is gone.
    for (const std::string& mount : Mounts()) {
      (void)internal::RemoveCgroupTree(mount + "/" + name_);
      auto entries = sys::ListDir(mount);
      ASSERT_TRUE(entries) << entries.error().message();
      for (const std::string& e : *entries)
        EXPECT_FALSE(e.starts_with(name_)) << "left behind: " << mount << "/" << e;
    }
    if (!layout_.unified_mount.empty()) {
      // The hugetlb test enables the controller at the unified root; put it back.
      auto now = sys::ReadFile(layout_.unified_mount + "/cgroup.subtree_control");
      if (now) {
        for (const std::string& c : base::SplitNonEmpty(base::Trim(*now), ' ')) {
          if (root_subtree_control_.find(c) != std::string::npos) continue;
          auto st = sys::WriteExisting(layout_.unified_mount + "/cgroup.subtree_control", "-" + c);
          EXPECT_TRUE(st) << st.error().message();
        }
      }
    }
  }

  std::vector<std::string> Mounts() const {
    std::vector<std::string> out;
    for (const auto& [s, m] : layout_.v1_mounts) out.push_back(m.mount_point);
    if (!layout_.unified_mount.empty()) out.push_back(layout_.unified_mount);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Manager* Track(base::Result<std::unique_ptr<Manager>> m) {
    EXPECT_TRUE(m) << m.error().message();
    if (!m) return nullptr;
    managers_.push_back(std::move(*m));
    return managers_.back().get();
  }

  // Sends a command to the child and returns its n-byte answer ("" on timeout).
  std::string Ask(char c, size_t n) {
    if (::write(cmd_, &c, 1) != 1) return "";
    std::string out;
    while (out.size() < n) {
      struct pollfd p = {reply_, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return out;
      char buf[8];
      ssize_t got = ::read(reply_, buf, std::min(sizeof buf, n - out.size()));
      if (got <= 0) return out;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }

  std::string Read(const std::string& path) {
    auto text = sys::ReadFile(path);
    EXPECT_TRUE(text) << text.error().message();
    return text ? std::string(base::Trim(*text)) : "";
  }

  static oci::DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                              std::optional<int64_t> minor, std::string access) {
    oci::DeviceRule r;
    r.allow = allow;
    r.type = std::move(type);
    r.major = major;
    r.minor = minor;
    r.access = std::move(access);
    return r;
  }

  // Deny everything but /dev/null (and mknod of char devices).
  static std::vector<oci::DeviceRule> NullOnly() {
    return {Rule(false, "a", std::nullopt, std::nullopt, "rwm"),
            Rule(true, "c", std::nullopt, std::nullopt, "m"), Rule(true, "c", 1, 3, "rwm")};
  }

  CgroupLayout layout_;
  std::string name_;
  std::string root_subtree_control_;
  pid_t child_ = -1;
  int cmd_ = -1, reply_ = -1;
  std::vector<std::unique_ptr<Manager>> managers_;
};

TEST_F(HostCgroup, Lifecycle) {
  SCOPED_TRACE(CgroupModeName(layout_.mode));
  Manager* m = Track(NewManager(layout_, "/" + name_, name_));
  ASSERT_NE(m, nullptr);
  auto st = m->Apply(child_);
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_EQ(Ask('o', 2), "yy");

  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.pids.emplace();
  r.pids->limit = 10;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.devices = NullOnly();
  st = m->Set(r);
  ASSERT_TRUE(st) << st.error().message();

  auto paths = m->Paths();
  if (layout_.mode == CgroupMode::kV2) {
    const std::string& d = paths.at(kUnifiedKey);
    EXPECT_EQ(d, layout_.unified_mount + "/" + name_);
    EXPECT_EQ(Read(d + "/memory.max"), "67108864");
    EXPECT_EQ(Read(d + "/pids.max"), "10");
    EXPECT_EQ(Read(d + "/cpu.max"), "50000 100000");
    EXPECT_EQ(Read(d + "/cpu.weight"), "20");
  } else {
    EXPECT_EQ(paths.at("memory"), layout_.v1_mounts.at("memory").mount_point + "/" + name_);
    EXPECT_EQ(Read(paths.at("memory") + "/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(Read(paths.at("pids") + "/pids.max"), "10");
    EXPECT_EQ(Read(paths.at("cpu") + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(Read(paths.at("cpu") + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(Read(paths.at("cpu") + "/cpu.shares"), "512");
    EXPECT_EQ(Read(paths.at("devices") + "/devices.list"), "c *:* m\nc 1:3 rwm");
    if (layout_.mode == CgroupMode::kHybrid) {
      EXPECT_EQ(paths.at(kUnifiedKey), layout_.unified_mount + "/" + name_);
    }
    for (const auto& [subsystem, dir] : paths) {
      auto procs = sys::ReadFile(dir + "/cgroup.procs");
      ASSERT_TRUE(procs) << procs.error().message();
      EXPECT_EQ(base::Trim(*procs), std::to_string(child_)) << subsystem;
    }
  }
  EXPECT_EQ(Ask('o', 2), "yn") << "device rules not enforced";
  EXPECT_EQ(Ask('m', 1), "k");

  auto pids = m->Pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child_});

  ASSERT_TRUE(m->Freeze());
  EXPECT_TRUE(*m->IsFrozen());
  ASSERT_TRUE(m->Thaw());
  EXPECT_FALSE(*m->IsFrozen());
  EXPECT_EQ(Ask('o', 2), "yn");  // alive and answering again

  auto stats = m->GetStats();
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->memory.limit, 64u << 20);
  EXPECT_GE(stats->memory.usage, 8u << 20);  // the child's touched pages
  EXPECT_EQ(stats->pids.current, 1u);
  EXPECT_EQ(stats->pids.limit, 10u);
  EXPECT_EQ(*m->OomKillCount(), 0u);
  EXPECT_FALSE(m->OomKilled());

  // Reopened from the saved paths, it sees the same cgroup.
  auto loaded = LoadManager(layout_, paths);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*(*loaded)->Pids(), std::vector<pid_t>{child_});

  ASSERT_TRUE(m->KillAll(SIGKILL));
  int status = 0;
  ASSERT_EQ(::waitpid(child_, &status, 0), child_);
  child_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  st = m->Destroy();
  ASSERT_TRUE(st) << st.error().message();
  for (const auto& [subsystem, dir] : paths) EXPECT_FALSE(sys::Exists(dir)) << dir;
  managers_.clear();
}

TEST_F(HostCgroup, PidsLimitStopsForks) {
  Manager* m = Track(NewManager(layout_, "/" + name_ + "/nested/c", name_));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Apply(child_));
  oci::Resources r;
  r.pids.emplace();
  r.pids->limit = 1;
  ASSERT_TRUE(m->Set(r));
  EXPECT_EQ(Ask('f', 1), "n");  // the child is the one task allowed
  r.pids->limit = 2;
  ASSERT_TRUE(m->Set(r));
  EXPECT_EQ(Ask('f', 1), "y");
  ASSERT_TRUE(m->KillAll(SIGTERM));
  ASSERT_EQ(::waitpid(child_, nullptr, 0), child_);
  child_ = -1;
  auto destroyed = m->Destroy();
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  // The nested parents stay (they could be shared); TearDown removes "/berth-test-<pid>".
}

// On a hybrid host, a v2 manager pointed at the unified mount exercises the v2 code for real:
// cgroup.freeze, cgroup.kill and the eBPF device filter need no v2 controllers.
TEST_F(HostCgroup, V2OnUnifiedHierarchy) {
  if (layout_.mode != CgroupMode::kHybrid) GTEST_SKIP() << "needs a hybrid host";
  CgroupLayout v2;
  v2.mode = CgroupMode::kV2;
  v2.unified_mount = layout_.unified_mount;
  Manager* m = Track(NewManager(v2, "/" + name_ + "/v2", name_));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Apply(child_));
  oci::Resources r;
  r.devices = NullOnly();
  auto st = m->Set(r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Ask('o', 2), "yn");
  // Replacing the filter detaches the old one: allow everything again.
  r.devices = {Rule(true, "a", std::nullopt, std::nullopt, "rwm")};
  ASSERT_TRUE(m->Set(r));
  EXPECT_EQ(Ask('o', 2), "yy");

  ASSERT_TRUE(m->Freeze());
  EXPECT_TRUE(*m->IsFrozen());
  ASSERT_TRUE(m->Thaw());
  EXPECT_FALSE(*m->IsFrozen());
  EXPECT_EQ(*m->Pids(), std::vector<pid_t>{child_});
  auto stats = m->GetStats();
  ASSERT_TRUE(stats) << stats.error().message();

  ASSERT_TRUE(m->KillAll(SIGKILL));
  ASSERT_EQ(::waitpid(child_, nullptr, 0), child_);
  child_ = -1;
  ASSERT_TRUE(m->Destroy());
}

TEST_F(HostCgroup, HybridHugetlbGoesThroughUnified) {
  if (layout_.mode != CgroupMode::kHybrid || layout_.v1_mounts.count("hugetlb"))
    GTEST_SKIP() << "needs a hybrid host without a v1 hugetlb hierarchy";
  auto controllers = sys::ReadFile(layout_.unified_mount + "/cgroup.controllers");
  if (!controllers || controllers->find("hugetlb") == std::string::npos)
    GTEST_SKIP() << "no hugetlb in the unified hierarchy";
  Manager* m = Track(NewManager(layout_, "/" + name_, name_));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Apply(child_));
  oci::Resources r;
  oci::HugepageLimit h;
  h.page_size = "2MB";
  h.limit = 4 << 20;
  r.hugepage_limits.push_back(h);
  auto st = m->Set(r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Read(m->Paths().at(kUnifiedKey) + "/hugetlb.2MB.max"), "4194304");
}

}  // namespace
}  // namespace berth::runtime::cgroup

namespace berth::runtime::cgroup {
namespace {

// Sets favordynmods on this host's cgroup2 mount and checks what it is for: moving a process
// into a v1 cgroup no longer waits for an RCU grace period (not timed here: the migration must
// simply still work) and the mount keeps its other options. Restores the options it found (on
// Linux 6.18+ the per-threadgroup rwsem that enabling it switched on stays until reboot).
TEST(HostFavorDynmods, SetsTheOptionAndKeepsTheOthers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto text = sys::ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(text);
  auto before = DetectLayout(*text);
  if (!before || before->unified_mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  std::vector<std::string> original;
  for (std::string& o : base::Split(before->unified_super_options, ','))
    if (o != "rw" && o != "ro" && o != "seclabel" && !o.empty()) original.push_back(o);
  auto outcome = EnableFavorDynmods();
  if (!outcome && outcome.error().code() == base::ErrorCode::kInvalidArgument)
    GTEST_SKIP() << "kernel without favordynmods: " << outcome.error().message();
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->mount_point, before->unified_mount);
  EXPECT_EQ(outcome->changed, !FavorsDynmods(before->unified_super_options));
  auto after = DetectLayout(*sys::ReadFile("/proc/self/mountinfo"));
  ASSERT_TRUE(after);
  EXPECT_TRUE(FavorsDynmods(after->unified_super_options)) << after->unified_super_options;
  for (const std::string& o : original)
    EXPECT_NE(after->unified_super_options.find(o), std::string::npos) << o;
  // A second call finds it set.
  auto again = EnableFavorDynmods();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  if (outcome->changed) {
    auto st = ReconfigureCgroup2(before->unified_mount, original);
    ASSERT_TRUE(st) << st.error().message();
    auto restored = DetectLayout(*sys::ReadFile("/proc/self/mountinfo"));
    ASSERT_TRUE(restored);
    EXPECT_EQ(restored->unified_super_options, before->unified_super_options);
  }
}

}  // namespace
}  // namespace berth::runtime::cgroup
