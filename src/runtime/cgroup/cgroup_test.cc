// Unit tests of the cgroup library without privileges: layout detection from mountinfo text,
// path rules, and the v1/v2 managers against fake cgroupfs trees made of plain files (which, not
// being cgroupfs, have every interface file pre-created by the test).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "runtime/cgroup/devices_bpf.h"
#include "runtime/cgroup/fs.h"
#include "runtime/cgroup/layout.h"
#include "runtime/cgroup/manager.h"
#include "runtime/cgroup/tuning.h"
#include "sys/file.h"

namespace berth::runtime::cgroup {
namespace {

using base::ErrorCode;

// Builders: GCC 12 warns (-Wmissing-field-initializers) on partial designated initializers.
oci::DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                     std::optional<int64_t> minor, std::string access) {
  oci::DeviceRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}
oci::ThrottleDevice Throttle(int64_t major, int64_t minor, uint64_t rate) {
  oci::ThrottleDevice t;
  t.major = major;
  t.minor = minor;
  t.rate = rate;
  return t;
}
oci::HugepageLimit Huge(std::string size, uint64_t limit) {
  oci::HugepageLimit h;
  h.page_size = std::move(size);
  h.limit = limit;
  return h;
}
ManagerOptions Options(bool systemd, std::string parent = "berth") {
  ManagerOptions o;
  o.systemd_path = systemd;
  o.default_parent = std::move(parent);
  return o;
}
V1Mount Mount(std::string mount_point) {
  V1Mount m;
  m.mount_point = std::move(mount_point);
  return m;
}

// This host (hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified offering only hugetlb).
constexpr const char* kHybridMountinfo =
    "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
    "23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd v1 host: co-mounted hierarchies, optional fields before the separator.
constexpr const char* kV1Mountinfo =
    "24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
    "cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - "
    "cgroup cgroup rw,cpu,cpuacct\n"
    "29 24 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - "
    "cgroup cgroup rw,net_cls,net_prio\n"
    "30 24 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup "
    "cgroup rw,memory\n"
    // A container's bind of the memory hierarchy elsewhere: not ours.
    "90 80 0:26 /docker/abc /var/lib/docker/x/merged/sys/fs/cgroup/memory ro - cgroup cgroup "
    "rw,memory\n";

constexpr const char* kV2Mountinfo =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(DetectLayout, KeepsTheUnifiedSuperOptions) {
  auto hybrid = DetectLayout(kHybridMountinfo);
  ASSERT_TRUE(hybrid);
  EXPECT_EQ(hybrid->unified_super_options, "rw");
  auto v2 = DetectLayout(kV2Mountinfo);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->unified_super_options, "rw,nsdelegate,memory_recursiveprot");
  auto v1 = DetectLayout(kV1Mountinfo);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->unified_super_options, "");
}

TEST(FavorDynmods, KeepsEveryOtherOptionAndAddsItOnce) {
  using V = std::vector<std::string>;
  EXPECT_EQ(FavorDynmodsOptions("rw"), V{"favordynmods"});
  EXPECT_EQ(FavorDynmodsOptions("rw,nsdelegate,memory_recursiveprot"),
            (V{"nsdelegate", "memory_recursiveprot", "favordynmods"}));
  EXPECT_EQ(FavorDynmodsOptions("rw,seclabel,nsdelegate,favordynmods"),
            (V{"nsdelegate", "favordynmods"}));
  EXPECT_EQ(FavorDynmodsOptions(""), V{"favordynmods"});
  EXPECT_TRUE(FavorsDynmods("rw,nsdelegate,favordynmods"));
  EXPECT_FALSE(FavorsDynmods("rw,nsdelegate"));
  EXPECT_FALSE(FavorsDynmods("rw,nofavordynmods"));
}

TEST(DetectLayout, Hybrid) {
  auto layout = DetectLayout(kHybridMountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->mode, CgroupMode::kHybrid);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup/unified");
  std::vector<std::string> keys;
  for (const auto& [k, v] : layout->v1_mounts) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"blkio", "cpu", "cpuacct", "cpuset", "devices",
                                            "freezer", "memory", "name=systemd", "pids"}));
  EXPECT_EQ(layout->v1_mounts.at("cpu").mount_point, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout->v1_mounts.at("cpuacct").mount_point, "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(layout->v1_mounts.at("name=systemd").mount_point, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(layout->v1_mounts.at("memory").root, "/");
}

TEST(DetectLayout, PureV1CoMounted) {
  auto layout = DetectLayout(kV1Mountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->mode, CgroupMode::kV1);
  EXPECT_EQ(layout->unified_mount, "");
  EXPECT_EQ(layout->v1_mounts.at("cpu").mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->v1_mounts.at("cpuacct").mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->v1_mounts.at("net_prio").mount_point, "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(layout->v1_mounts.at("name=systemd").mount_point, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(layout->v1_mounts.count("xattr"), 0u);
  EXPECT_EQ(layout->v1_mounts.at("memory").mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout->v1_mounts.size(), 6u);
}

TEST(DetectLayout, PureV2) {
  auto layout = DetectLayout(kV2Mountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->mode, CgroupMode::kV2);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup");
  EXPECT_TRUE(layout->v1_mounts.empty());
}

TEST(DetectLayout, ContainerSubtreeAndEscapes) {
  // Inside a v1 container given only its own subtree; a mount point with an escaped space.
  auto layout = DetectLayout(
      "1 0 0:26 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "2 0 0:27 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n");
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v1_mounts.at("memory").root, "/docker/abc");
  EXPECT_EQ(layout->v1_mounts.at("pids").mount_point, "/sys/fs/cgroup/my pids");
}

TEST(DetectLayout, Errors) {
  auto none = DetectLayout("22 1 254:1 / / rw - ext4 /dev/vda1 rw\n");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  auto bad = DetectLayout("22 1 254:1 / / rw ext4 /dev/vda1 rw\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(DetectLayout, HostMatchesStatfs) {
  auto layout = DetectHostLayout();
  if (!layout) GTEST_SKIP() << layout.error().message();
  if (layout->mode != CgroupMode::kV2) {
    EXPECT_FALSE(layout->v1_mounts.empty());
  }
  EXPECT_NE(layout->mode == CgroupMode::kV1, !layout->unified_mount.empty());
}

TEST(CgroupPath, Rules) {
  EXPECT_EQ(*ContainerCgroupPath("", "abc"), "/berth-abc");
  EXPECT_EQ(*ContainerCgroupPath("", "abc", Options(false, "moby")), "/moby-abc");
  EXPECT_EQ(*ContainerCgroupPath("/a//b/./c/", "abc"), "/a/b/c");
  EXPECT_EQ(*ContainerCgroupPath("a/b", "abc"), "a/b");
  EXPECT_EQ(ContainerCgroupPath("/a/../../etc", "x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ContainerCgroupPath("/", "x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ContainerCgroupPath("", "a/b").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*ContainerCgroupPath("system.slice:docker:abc", "abc", Options(true)),
            "/system.slice/docker-abc.scope");
  EXPECT_EQ(*ContainerCgroupPath("", "abc", Options(true)), "/system.slice/berth-abc.scope");
}

TEST(CgroupPath, Systemd) {
  EXPECT_EQ(*SystemdCgroupPath("machine-pods-x.slice:libpod:c1", "id"),
            "/machine.slice/machine-pods.slice/machine-pods-x.slice/libpod-c1.scope");
  EXPECT_EQ(*SystemdCgroupPath(":crio:", "id"), "/system.slice/crio-id.scope");
  EXPECT_EQ(*SystemdCgroupPath("-.slice::n", "id"), "/n.scope");
  EXPECT_EQ(*SystemdCgroupPath("user.slice:p:sub.slice", "id"), "/user.slice/sub.slice");
  EXPECT_FALSE(SystemdCgroupPath("/a/b", "id"));
  EXPECT_FALSE(SystemdCgroupPath("a--b.slice:p:n", "id"));
  EXPECT_FALSE(SystemdCgroupPath("notaslice:p:n", "id"));
}

TEST(CgroupPath, ParseProcCgroup) {
  auto m = ParseProcCgroup(
      "4:memory:/process_api/93c4\n2:cpu,cpuacct:/x:y\n1:name=systemd:/\n"
      "0::/user.slice\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("memory"), "/process_api/93c4");
  EXPECT_EQ(m->at("cpu"), "/x:y");
  EXPECT_EQ(m->at("cpuacct"), "/x:y");
  EXPECT_EQ(m->at("name=systemd"), "/");
  EXPECT_EQ(m->at(kUnifiedKey), "/user.slice");
  EXPECT_FALSE(ParseProcCgroup("garbage\n"));
}

// A scratch directory for a fake cgroupfs, removed at the end of the test whatever happens.
class FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgroup-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(sys::RemoveAll(root_)); }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  // Creates (or replaces) a fake interface file, and its directories.
  void Put(const std::string& rel, const std::string& content) {
    std::string path = P(rel);
    ASSERT_TRUE(sys::MkdirAll(path.substr(0, path.rfind('/'))));
    auto fd = sys::Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(sys::WriteAll(fd->get(), content));
  }
  void PutAll(const std::string& dir, const std::vector<std::string>& files) {
    for (const auto& f : files) Put(dir + "/" + f, "");
  }
  std::string Get(const std::string& rel) {
    auto text = sys::ReadFile(P(rel));
    EXPECT_TRUE(text) << text.error().message();
    return text ? *text : "";
  }

  std::string root_;
};

class V2Fake : public FakeTree {
 protected:
  void SetUp() override {
    FakeTree::SetUp();
    const std::string controllers = "cpuset cpu io memory hugetlb pids";
    for (const std::string dir : {"", "berth", "berth/c1"}) {
      Put(dir + "/cgroup.controllers", controllers);
      Put(dir + "/cgroup.subtree_control", "");
    }
    PutAll("berth/c1",
           {"cgroup.procs", "memory.max", "memory.low", "memory.swap.max", "memory.high", "cpu.max",
            "cpu.weight", "cpu.max.burst", "pids.max", "io.max", "io.weight", "cpuset.cpus",
            "cpuset.mems", "cgroup.freeze", "cgroup.kill", "hugetlb.2MB.max"});
    Put("berth/c1/cgroup.events", "populated 1\nfrozen 0\n");
    layout_.mode = CgroupMode::kV2;
    layout_.unified_mount = root_;
    auto m = NewManager(layout_, "/berth/c1", "c1");
    ASSERT_TRUE(m) << m.error().message();
    manager_ = std::move(*m);
  }

  CgroupLayout layout_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(V2Fake, ApplyEnablesControllersTopDown) {
  ASSERT_TRUE(manager_->Apply(1234));
  EXPECT_EQ(Get("cgroup.subtree_control"), "+cpu +cpuset +hugetlb +io +memory +pids");
  EXPECT_EQ(Get("berth/cgroup.subtree_control"), "+cpu +cpuset +hugetlb +io +memory +pids");
  EXPECT_EQ(Get("berth/c1/cgroup.subtree_control"), "");  // the leaf keeps its processes
  EXPECT_EQ(Get("berth/c1/cgroup.procs"), "1234");
  EXPECT_EQ(manager_->Paths(), (std::map<std::string, std::string>{{"unified", P("berth/c1")}}));

  // Already enabled controllers are not written again; missing ones are added.
  Put("berth/cgroup.subtree_control", "cpu memory");
  Put("berth/cgroup.controllers", "cpu memory rdma");
  ASSERT_TRUE(manager_->Apply(-1));
  EXPECT_EQ(Get("berth/cgroup.subtree_control"), "+rdma");
}

TEST_F(V2Fake, SetWritesConvertedValues) {
  ASSERT_TRUE(manager_->Apply(-1));
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 96 << 20;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.pids.emplace();
  r.pids->limit = 10;
  r.block_io.emplace();
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps_device.push_back(Throttle(8, 0, 1048576));
  r.block_io->throttle_write_iops_device.push_back(Throttle(8, 0, 100));
  r.hugepage_limits.push_back(Huge("2MB", 4 << 21));
  r.unified["memory.high"] = "50331648";
  auto st = manager_->Set(r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Get("berth/c1/memory.max"), "67108864");
  EXPECT_EQ(Get("berth/c1/memory.low"), "33554432");
  EXPECT_EQ(Get("berth/c1/memory.swap.max"), "33554432");  // memory+swap minus memory
  EXPECT_EQ(Get("berth/c1/memory.high"), "50331648");
  EXPECT_EQ(Get("berth/c1/cpu.weight"), "39");  // 1 + (1024-2)*9999/262142
  EXPECT_EQ(Get("berth/c1/cpu.max"), "50000 100000");
  EXPECT_EQ(Get("berth/c1/cpuset.cpus"), "0-1");
  EXPECT_EQ(Get("berth/c1/cpuset.mems"), "0");
  EXPECT_EQ(Get("berth/c1/pids.max"), "10");
  EXPECT_EQ(Get("berth/c1/io.weight"), "4950");  // 1 + (500-10)*9999/990
  EXPECT_EQ(Get("berth/c1/io.max"), "8:0 rbps=1048576 wiops=100");
  EXPECT_EQ(Get("berth/c1/hugetlb.2MB.max"), "8388608");

  oci::Resources unlimited;
  unlimited.memory.emplace();
  unlimited.memory->limit = -1;
  unlimited.cpu.emplace();
  unlimited.cpu->shares = 2;
  unlimited.cpu->quota = -1;
  unlimited.cpu->period = 100000;
  unlimited.pids.emplace();
  unlimited.pids->limit = 0;
  ASSERT_TRUE(manager_->Set(unlimited));
  EXPECT_EQ(Get("berth/c1/memory.max"), "max");
  EXPECT_EQ(Get("berth/c1/memory.swap.max"), "max");
  EXPECT_EQ(Get("berth/c1/cpu.weight"), "1");
  EXPECT_EQ(Get("berth/c1/cpu.max"), "max 100000");
  EXPECT_EQ(Get("berth/c1/pids.max"), "max");

  // Only the period changes: the quota in force stays.
  Put("berth/c1/cpu.max", "20000 100000\n");
  oci::Resources period_only;
  period_only.cpu.emplace();
  period_only.cpu->period = 50000;
  ASSERT_TRUE(manager_->Set(period_only));
  EXPECT_EQ(Get("berth/c1/cpu.max"), "20000 50000");

  oci::Resources max_shares;
  max_shares.cpu.emplace();
  max_shares.cpu->shares = 1000000;
  max_shares.block_io.emplace();
  max_shares.block_io->weight = 1000;
  ASSERT_TRUE(manager_->Set(max_shares));
  EXPECT_EQ(Get("berth/c1/cpu.weight"), "10000");
  EXPECT_EQ(Get("berth/c1/io.weight"), "10000");
}

TEST_F(V2Fake, SetRejectsBadInput) {
  ASSERT_TRUE(manager_->Apply(-1));
  oci::Resources swap_only;
  swap_only.memory.emplace();
  swap_only.memory->swap = 1 << 30;
  auto st = manager_->Set(swap_only);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);

  oci::Resources swap_below;
  swap_below.memory.emplace();
  swap_below.memory->limit = 2 << 20;
  swap_below.memory->swap = 1 << 20;
  EXPECT_EQ(manager_->Set(swap_below).error().code(), ErrorCode::kInvalidArgument);

  for (const std::string key : {"../memory.max", "x/memory.max", ".."}) {
    oci::Resources raw;
    raw.unified[key] = "1";
    auto bad = manager_->Set(raw);
    ASSERT_FALSE(bad) << key;
    EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument) << key;
  }

  oci::Resources rdma;
  rdma.unified["rdma.max"] = "mlx4_0 hca_handle=2";
  auto no_rdma = manager_->Set(rdma);
  ASSERT_FALSE(no_rdma);
  EXPECT_EQ(no_rdma.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(no_rdma.error().message().find("rdma"), std::string::npos);

  oci::Resources net;
  net.network.emplace();
  net.network->class_id = 7;
  EXPECT_EQ(manager_->Set(net).error().code(), ErrorCode::kUnavailable);
}

TEST_F(V2Fake, MissingControllerIsNamed) {
  Put("berth/cgroup.controllers", "cpu memory pids");
  Put("berth/c1/cgroup.controllers", "cpu memory pids");
  ASSERT_TRUE(::unlink(P("berth/c1/io.max").c_str()) == 0);
  ASSERT_TRUE(manager_->Apply(-1));
  oci::Resources r;
  r.block_io.emplace();
  r.block_io->throttle_read_bps_device.push_back(Throttle(8, 0, 1));
  auto st = manager_->Set(r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("controller \"io\""), std::string::npos)
      << st.error().message();
}

TEST_F(V2Fake, FreezeThaw) {
  ASSERT_TRUE(manager_->Apply(-1));
  Put("berth/c1/cgroup.events", "populated 1\nfrozen 1\n");  // the kernel's answer
  ASSERT_TRUE(manager_->Freeze());
  EXPECT_EQ(Get("berth/c1/cgroup.freeze"), "1");
  EXPECT_TRUE(*manager_->IsFrozen());
  Put("berth/c1/cgroup.events", "populated 1\nfrozen 0\n");
  ASSERT_TRUE(manager_->Thaw());
  EXPECT_EQ(Get("berth/c1/cgroup.freeze"), "0");
  EXPECT_FALSE(*manager_->IsFrozen());
}

TEST_F(V2Fake, KillAllUsesCgroupKill) {
  ASSERT_TRUE(manager_->Apply(-1));
  ASSERT_TRUE(manager_->KillAll(SIGKILL));
  EXPECT_EQ(Get("berth/c1/cgroup.kill"), "1");
}

TEST_F(V2Fake, PidsIncludeDescendants) {
  Put("berth/c1/cgroup.procs", "12\n7\n");
  Put("berth/c1/sub/cgroup.procs", "99\n7\n");
  auto pids = manager_->Pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, (std::vector<pid_t>{7, 12, 99}));
}

TEST_F(V2Fake, Stats) {
  Put("berth/c1/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\n"
      "throttled_usec 70\n");
  Put("berth/c1/memory.current", "4096000\n");
  Put("berth/c1/memory.max", "max\n");
  Put("berth/c1/memory.stat", "anon 1000\nfile 2000\nkernel_stack 16384\n");
  Put("berth/c1/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
  Put("berth/c1/memory.swap.current", "512\n");
  Put("berth/c1/memory.swap.max", "max\n");
  Put("berth/c1/pids.current", "3\n");
  Put("berth/c1/pids.max", "10\n");
  Put("berth/c1/io.stat",
      "259:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
      "8:0 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=0 dios=0\n");
  auto s = manager_->GetStats();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->cpu.usage_total_ns, 1500000u);
  EXPECT_EQ(s->cpu.usage_user_ns, 1000000u);
  EXPECT_EQ(s->cpu.usage_system_ns, 500000u);
  EXPECT_EQ(s->cpu.throttled_periods, 3u);
  EXPECT_EQ(s->cpu.throttled_time_ns, 70000u);
  EXPECT_EQ(s->memory.usage, 4096000u);
  EXPECT_EQ(s->memory.limit, kUnlimited);
  EXPECT_EQ(s->memory.rss, 1000u);
  EXPECT_EQ(s->memory.cache, 2000u);
  EXPECT_EQ(s->memory.raw.at("kernel_stack"), 16384u);
  EXPECT_EQ(s->memory.swap_usage, 512u);
  EXPECT_EQ(s->memory.swap_limit, kUnlimited);
  EXPECT_EQ(s->memory.oom_kill_count, 2u);
  EXPECT_EQ(s->pids.current, 3u);
  EXPECT_EQ(s->pids.limit, 10u);
  ASSERT_EQ(s->blkio.size(), 2u);
  EXPECT_EQ(s->blkio[0].major, 8u);
  EXPECT_EQ(s->blkio[0].write_ios, 8u);
  EXPECT_EQ(s->blkio[1].read_bytes, 100u);
  EXPECT_EQ(*manager_->OomKillCount(), 2u);
  EXPECT_TRUE(manager_->OomKilled());
}

TEST_F(V2Fake, LoadManagerChecksPaths) {
  auto loaded = LoadManager(layout_, manager_->Paths());
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ((*loaded)->Paths(), manager_->Paths());
  EXPECT_EQ(LoadManager(layout_, {{"unified", "/etc"}}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(LoadManager(layout_, {{"unified", P("berth/../../etc")}}).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(LoadManager(layout_, {{"memory", P("berth/c1")}}).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(FakeTree, DestroyRemovesDescendantsFirst) {
  ASSERT_TRUE(sys::MkdirAll(P("berth/c1/a/b")));
  ASSERT_TRUE(sys::MkdirAll(P("berth/c1/z")));
  CgroupLayout layout;
  layout.mode = CgroupMode::kV2;
  layout.unified_mount = root_;
  auto m = LoadManager(layout, {{"unified", P("berth/c1")}});
  ASSERT_TRUE(m);
  ASSERT_TRUE((*m)->Destroy());
  EXPECT_FALSE(sys::Exists(P("berth/c1")));
  EXPECT_TRUE(sys::Exists(P("berth")));
  EXPECT_TRUE((*m)->Destroy());  // gone already: success
}

class V1Fake : public FakeTree {
 protected:
  void SetUp() override {
    FakeTree::SetUp();
    for (const char* s : {"cpuset", "memory", "pids", "blkio", "devices", "freezer"})
      layout_.v1_mounts[s] = Mount(P(s));
    layout_.v1_mounts["cpu"] = Mount(P("cpu,cpuacct"));
    layout_.v1_mounts["cpuacct"] = Mount(P("cpu,cpuacct"));
    layout_.mode = CgroupMode::kV1;
    Put("cpuset/cpuset.cpus", "0-3\n");
    Put("cpuset/cpuset.mems", "0\n");
    for (const char* d : {"cpuset/berth", "cpuset/berth/c1"})
      PutAll(d, {"cpuset.cpus", "cpuset.mems"});
    for (const char* s : {"cpuset", "memory", "pids", "blkio", "devices", "freezer", "cpu,cpuacct"})
      Put(std::string(s) + "/berth/c1/cgroup.procs", "");
    PutAll("memory/berth/c1",
           {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
            "memory.swappiness", "memory.oom_control"});
    Put("memory/berth/c1/memory.limit_in_bytes", "9223372036854771712\n");
    PutAll("cpu,cpuacct/berth/c1", {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"});
    PutAll("pids/berth/c1", {"pids.max"});
    PutAll("blkio/berth/c1", {"blkio.bfq.weight", "blkio.throttle.read_bps_device"});
    PutAll("devices/berth/c1", {"devices.allow", "devices.deny"});
    PutAll("freezer/berth/c1", {"freezer.state"});
  }

  std::unique_ptr<Manager> New() {
    auto m = NewManager(layout_, "/berth/c1", "c1");
    EXPECT_TRUE(m) << m.error().message();
    return m ? std::move(*m) : nullptr;
  }

  CgroupLayout layout_;
};

TEST_F(V1Fake, ApplySeedsCpusetAndJoinsEachHierarchy) {
  auto m = New();
  auto st = m->Apply(4321);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Get("cpuset/berth/cpuset.cpus"), "0-3");
  EXPECT_EQ(Get("cpuset/berth/cpuset.mems"), "0");
  EXPECT_EQ(Get("cpuset/berth/c1/cpuset.cpus"), "0-3");
  for (const char* s : {"cpuset", "memory", "pids", "blkio", "devices", "freezer", "cpu,cpuacct"})
    EXPECT_EQ(Get(std::string(s) + "/berth/c1/cgroup.procs"), "4321") << s;
  auto paths = m->Paths();
  EXPECT_EQ(paths.at("cpu"), P("cpu,cpuacct/berth/c1"));
  EXPECT_EQ(paths.at("cpuacct"), P("cpu,cpuacct/berth/c1"));
  EXPECT_EQ(paths.count("unified"), 0u);
}

TEST_F(V1Fake, SetWritesLimits) {
  auto m = New();
  ASSERT_TRUE(m->Apply(-1));
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 128 << 20;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "1";
  r.pids.emplace();
  r.pids->limit = -1;
  r.block_io.emplace();
  r.block_io->weight = 300;
  r.block_io->throttle_read_bps_device.push_back(Throttle(8, 0, 1048576));
  r.devices.push_back(Rule(false, "", std::nullopt, std::nullopt, "rwm"));
  r.devices.push_back(Rule(true, "c", 1, 3, "rwm"));
  r.devices.push_back(Rule(true, "c", 136, std::nullopt, "rw"));
  auto st = m->Set(r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Get("memory/berth/c1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(Get("memory/berth/c1/memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(Get("memory/berth/c1/memory.soft_limit_in_bytes"), "33554432");
  EXPECT_EQ(Get("memory/berth/c1/memory.swappiness"), "10");
  EXPECT_EQ(Get("memory/berth/c1/memory.oom_control"), "1");
  EXPECT_EQ(Get("cpu,cpuacct/berth/c1/cpu.shares"), "512");
  EXPECT_EQ(Get("cpu,cpuacct/berth/c1/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Get("cpu,cpuacct/berth/c1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(Get("cpuset/berth/c1/cpuset.cpus"), "1");
  EXPECT_EQ(Get("pids/berth/c1/pids.max"), "max");
  EXPECT_EQ(Get("blkio/berth/c1/blkio.bfq.weight"), "300");
  EXPECT_EQ(Get("blkio/berth/c1/blkio.throttle.read_bps_device"), "8:0 1048576");
  // One write per rule, in order, through one open file each.
  EXPECT_EQ(Get("devices/berth/c1/devices.deny"), "a\n");
  EXPECT_EQ(Get("devices/berth/c1/devices.allow"), "c 1:3 rwm\nc 136:* rw\n");
}

TEST_F(V1Fake, MissingControllerIsAnErrorOnlyWhenUsed) {
  auto m = New();
  ASSERT_TRUE(m->Apply(-1));
  oci::Resources none;
  none.memory.emplace();
  EXPECT_TRUE(m->Set(none));

  oci::Resources huge;
  huge.hugepage_limits.push_back(Huge("2MB", 1 << 21));
  auto st = m->Set(huge);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("cannot set hugetlb limit"), std::string::npos);

  oci::Resources net;
  net.network.emplace();
  net.network->class_id = 7;
  auto no_net = m->Set(net);
  ASSERT_FALSE(no_net);
  EXPECT_NE(no_net.error().message().find("\"net_cls\""), std::string::npos);

  oci::Resources raw;
  raw.unified["memory.high"] = "1";
  EXPECT_EQ(m->Set(raw).error().code(), ErrorCode::kUnavailable);
}

TEST_F(V1Fake, NoSwapAccountingSkipsSwap) {
  ASSERT_EQ(::unlink(P("memory/berth/c1/memory.memsw.limit_in_bytes").c_str()), 0);
  auto m = New();
  ASSERT_TRUE(m->Apply(-1));
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1 << 20;
  r.memory->swap = 2 << 20;
  ASSERT_TRUE(m->Set(r));
  EXPECT_EQ(Get("memory/berth/c1/memory.limit_in_bytes"), "1048576");
}

TEST_F(V1Fake, FreezeThawAndStats) {
  auto m = New();
  ASSERT_TRUE(m->Apply(-1));
  ASSERT_TRUE(m->Freeze());
  EXPECT_EQ(Get("freezer/berth/c1/freezer.state"), "FROZEN");
  EXPECT_TRUE(*m->IsFrozen());
  ASSERT_TRUE(m->Thaw());
  EXPECT_FALSE(*m->IsFrozen());

  const std::string cpu = "cpu,cpuacct/berth/c1/";
  Put(cpu + "cpuacct.usage", "3000\n");
  Put(cpu + "cpuacct.usage_user", "2000\n");
  Put(cpu + "cpuacct.usage_sys", "1000\n");
  Put(cpu + "cpuacct.usage_percpu", "1000 2000 \n");
  Put(cpu + "cpu.stat", "nr_periods 5\nnr_throttled 1\nthrottled_time 99\n");
  const std::string mem = "memory/berth/c1/";
  Put(mem + "memory.usage_in_bytes", "8192\n");
  Put(mem + "memory.max_usage_in_bytes", "9000\n");
  Put(mem + "memory.memsw.usage_in_bytes", "10000\n");
  Put(mem + "memory.memsw.limit_in_bytes", "9223372036854771712\n");
  Put(mem + "memory.stat", "cache 1\nrss 2\ntotal_cache 10\ntotal_rss 20\n");
  Put(mem + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Put("pids/berth/c1/pids.current", "2\n");
  Put("pids/berth/c1/pids.max", "max\n");
  Put("blkio/berth/c1/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 100\n8:0 Write 200\n8:0 Total 300\nTotal 300\n");
  Put("blkio/berth/c1/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\n");
  auto s = m->GetStats();
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->cpu.usage_total_ns, 3000u);
  EXPECT_EQ(s->cpu.usage_user_ns, 2000u);
  EXPECT_EQ(s->cpu.usage_per_cpu_ns, (std::vector<uint64_t>{1000, 2000}));
  EXPECT_EQ(s->cpu.throttled_time_ns, 99u);
  EXPECT_EQ(s->memory.usage, 8192u);
  EXPECT_EQ(s->memory.max_usage, 9000u);
  EXPECT_EQ(s->memory.limit, kUnlimited);
  EXPECT_EQ(s->memory.cache, 10u);
  EXPECT_EQ(s->memory.rss, 20u);
  EXPECT_EQ(s->memory.swap_usage, 10000u - 8192u);
  EXPECT_EQ(s->memory.swap_limit, kUnlimited);
  EXPECT_EQ(s->memory.oom_kill_count, 1u);
  EXPECT_EQ(s->pids.current, 2u);
  EXPECT_EQ(s->pids.limit, kUnlimited);
  ASSERT_EQ(s->blkio.size(), 1u);
  EXPECT_EQ(s->blkio[0].read_bytes, 100u);
  EXPECT_EQ(s->blkio[0].write_bytes, 200u);
  EXPECT_EQ(s->blkio[0].write_ios, 2u);
  EXPECT_TRUE(m->OomKilled());
}

TEST_F(V1Fake, HybridJoinsUnifiedAndSetsHugetlbThere) {
  layout_.mode = CgroupMode::kHybrid;
  layout_.unified_mount = P("unified");
  for (const std::string d : {"unified", "unified/berth", "unified/berth/c1"}) {
    Put(d + "/cgroup.controllers", "hugetlb");
    Put(d + "/cgroup.subtree_control", "");
  }
  PutAll("unified/berth/c1", {"cgroup.procs", "hugetlb.2MB.max"});
  auto m = New();
  ASSERT_TRUE(m->Apply(555));
  EXPECT_EQ(Get("unified/berth/c1/cgroup.procs"), "555");
  EXPECT_EQ(m->Paths().at("unified"), P("unified/berth/c1"));
  oci::Resources r;
  r.hugepage_limits.push_back(Huge("2MB", 2 << 21));
  auto st = m->Set(r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Get("unified/cgroup.subtree_control"), "+hugetlb");
  EXPECT_EQ(Get("unified/berth/c1/hugetlb.2MB.max"), "4194304");
}

TEST_F(V1Fake, HybridUnifiedJoinFailureIsAWarning) {
  layout_.mode = CgroupMode::kHybrid;
  layout_.unified_mount = P("unified");
  Put("unified/cgroup.controllers", "hugetlb");  // no cgroup.procs in the leaf: joining fails
  auto m = New();
  ASSERT_TRUE(m->Apply(555));
  EXPECT_EQ(m->Paths().count("unified"), 0u);
  oci::Resources r;
  r.hugepage_limits.push_back(Huge("2MB", 2 << 21));
  auto st = m->Set(r);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("cannot set hugetlb limit: container could not join"),
            std::string::npos)
      << st.error().message();
}

TEST_F(V1Fake, RelativePathIsUnderOwnCgroup) {
  auto own = ParseProcCgroup(*sys::ReadFile("/proc/self/cgroup"));
  ASSERT_TRUE(own);
  if (!own->count("memory")) GTEST_SKIP() << "this process has no v1 memory cgroup";
  auto m = NewManager(layout_, "rel/c1", "c1");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ((*m)->Paths().at("memory"),
            internal::JoinPath(internal::JoinPath(P("memory"), own->at("memory")), "rel/c1"));
}

TEST_F(V1Fake, LoadManagerRoundTrip) {
  auto m = New();
  auto loaded = LoadManager(layout_, m->Paths());
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ((*loaded)->Paths(), m->Paths());
  EXPECT_FALSE(LoadManager(layout_, {{"memory", P("pids/berth/c1")}}));
  EXPECT_FALSE(LoadManager(layout_, {{"hugetlb", P("hugetlb/berth/c1")}}));
}

TEST_F(V1Fake, CpusetOnDemandIsNeitherCreatedNorJoined) {
  ASSERT_TRUE(sys::RemoveAll(P("cpuset/berth/c1")));
  ManagerOptions opts;
  opts.cpuset_on_demand = true;
  auto m = NewManager(layout_, "/berth/c1", "c1", opts);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_TRUE((*m)->Apply(-1));
  auto st = (*m)->Apply(4321);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_FALSE(sys::Exists(P("cpuset/berth/c1")));
  for (const char* s : {"memory", "pids", "blkio", "devices", "freezer", "cpu,cpuacct"})
    EXPECT_EQ(Get(std::string(s) + "/berth/c1/cgroup.procs"), "4321") << s;
  // Saved for a later `update`, but not part of what the container sees.
  EXPECT_EQ((*m)->Paths().at("cpuset"), P("cpuset/berth/c1"));
  EXPECT_EQ((*m)->JoinedPaths().count("cpuset"), 0u);
  EXPECT_EQ((*m)->JoinedPaths().at("memory"), P("memory/berth/c1"));

  // A loaded manager (exec) joins the cpuset directory where one exists, and skips it where not.
  auto loaded = LoadManager(layout_, (*m)->Paths());
  ASSERT_TRUE(loaded);
  EXPECT_TRUE((*loaded)->Apply(99));
  EXPECT_FALSE(sys::Exists(P("cpuset/berth/c1")));
  PutAll("cpuset/berth/c1", {"cgroup.procs"});
  ASSERT_TRUE((*loaded)->Apply(99));
  EXPECT_EQ(Get("cpuset/berth/c1/cgroup.procs"), "99");
  EXPECT_EQ((*loaded)->JoinedPaths().count("cpuset"), 1u);
}

TEST_F(V1Fake, CpusetLimitsCreateTheCpusetEvenOnDemand) {
  // Without on-demand (a cpuset limit in the config), Apply creates and joins it as before.
  auto m = New();
  ASSERT_TRUE(m->Apply(7));
  EXPECT_EQ(Get("cpuset/berth/c1/cgroup.procs"), "7");
  EXPECT_EQ(m->JoinedPaths().count("cpuset"), 1u);
}

// A reference interpreter for the few BPF instructions the device filter uses, so the program's
// meaning is tested without loading it.
int RunDeviceProgram(const std::vector<bpf_insn>& prog, uint32_t type, uint32_t access,
                     uint32_t major, uint32_t minor) {
  uint64_t r[11] = {};
  const uint32_t ctx[3] = {(access << 16) | type, major, minor};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        r[i.dst_reg] = uint32_t(r[i.dst_reg]) & uint32_t(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[i.dst_reg] = uint32_t(r[i.dst_reg]) >> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        r[i.dst_reg] = uint32_t(r[i.src_reg]);
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        r[i.dst_reg] = i.imm;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != uint64_t(i.imm)) pc += i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        if (r[i.dst_reg] == uint64_t(i.imm)) pc += i.off;
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        if (r[i.dst_reg] != r[i.src_reg]) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return int(r[0]);
      default:
        ADD_FAILURE() << "unexpected opcode " << int(i.code);
        return -1;
    }
  }
  ADD_FAILURE() << "fell off the end";
  return -1;
}

TEST(DeviceFilter, DockerDefaultRules) {
  std::vector<oci::DeviceRule> rules = {
      Rule(false, "", std::nullopt, std::nullopt, "rwm"),
      Rule(true, "c", std::nullopt, std::nullopt, "m"),
      Rule(true, "b", std::nullopt, std::nullopt, "m"),
      Rule(true, "c", 1, 3, "rwm"),
      Rule(true, "c", 136, std::nullopt, "rwm"),
      Rule(true, "c", 5, 1, "rw"),
  };
  auto f = internal::ReduceDeviceRules(rules);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->default_allow);
  EXPECT_EQ(f->exceptions.size(), 5u);
  auto prog = internal::BuildDeviceProgram(*f);
  constexpr uint32_t kChr = BPF_DEVCG_DEV_CHAR, kBlk = BPF_DEVCG_DEV_BLOCK;
  constexpr uint32_t kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE, kM = BPF_DEVCG_ACC_MKNOD;
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kR | kW, 1, 3), 1);  // /dev/null
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kR, 1, 5), 0);       // /dev/zero: not listed
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kM, 10, 200), 1);    // mknod any char device
  EXPECT_EQ(RunDeviceProgram(prog, kBlk, kM, 8, 0), 1);
  EXPECT_EQ(RunDeviceProgram(prog, kBlk, kR, 8, 0), 0);       // but not read a disk
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kW, 136, 42), 1);    // any pty
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kR | kW, 5, 1), 1);  // console rw
  EXPECT_EQ(RunDeviceProgram(prog, kChr, kR | kM, 5, 1), 0);  // rw only: no mknod
}

TEST(DeviceFilter, BlacklistAndRemoval) {
  std::vector<oci::DeviceRule> rules = {
      Rule(true, "a", std::nullopt, std::nullopt, ""), Rule(false, "c", 1, 5, "w"),
      Rule(false, "b", 8, 0, "rwm"), Rule(true, "b", 8, 0, "rwm"),  // takes it back
  };
  auto f = internal::ReduceDeviceRules(rules);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->default_allow);
  ASSERT_EQ(f->exceptions.size(), 1u);
  auto prog = internal::BuildDeviceProgram(*f);
  EXPECT_EQ(RunDeviceProgram(prog, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 5), 1);
  EXPECT_EQ(
      RunDeviceProgram(prog, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 1, 5),
      0);  // any overlap with a deny
  EXPECT_EQ(RunDeviceProgram(prog, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 8, 0), 1);
  EXPECT_FALSE(internal::ReduceDeviceRules({Rule(true, "x", std::nullopt, std::nullopt, "")}));
  EXPECT_FALSE(internal::ReduceDeviceRules({Rule(true, "c", std::nullopt, std::nullopt, "rwx")}));
}

TEST(Fs, JoinAndInside) {
  EXPECT_EQ(internal::JoinPath("/sys/fs/cgroup/", "/berth/x/"), "/sys/fs/cgroup/berth/x");
  EXPECT_EQ(internal::JoinPath("/", "a"), "/a");
  EXPECT_TRUE(internal::IsInside("/sys/fs/cgroup/memory/x", "/sys/fs/cgroup/memory"));
  EXPECT_FALSE(internal::IsInside("/sys/fs/cgroup/memoryx", "/sys/fs/cgroup/memory"));
  EXPECT_TRUE(internal::HasDotDot("a/../b"));
  EXPECT_FALSE(internal::HasDotDot("a/..b"));
}

}  // namespace
}  // namespace berth::runtime::cgroup
