// End to end: GenerateSpec's output, written as config.json into a busybox bundle from
// tests/integration/make-bundle.sh, run by the real berth-runtime. Proves the default profile,
// capabilities and masks are accepted by the runtime and behave: echo works, unshare(CLONE_NEWNET)
// is refused, /proc/kcore reads empty. Needs root, busybox-static and jq; skips otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/spec/generate.h"
#include "oci/runtime_config.h"

namespace berth::daemon::spec {
namespace {

namespace fs = std::filesystem;

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult Shell(const std::string& command) {
  RunResult r;
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  int status = pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// What berthd would probe; here read directly from this process and host.
HostFacts ProbeHostFacts() {
  HostFacts h;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapBnd:", 0) == 0) h.bounding_caps = std::stoull(line.substr(7), nullptr, 16);
  std::ifstream last("/proc/sys/kernel/cap_last_cap");
  last >> h.last_cap;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
    h.rlimit_hard["RLIMIT_NOFILE"] = rl.rlim_max;
  struct statfs sfs {};
  h.cgroup_mode = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC
                      ? CgroupMode::kV2
                      : CgroupMode::kV1;
  utsname u{};
  uname(&u);
  h.machine = u.machine;
  std::sscanf(u.release, "%d.%d", &h.kernel.major, &h.kernel.minor);
  h.ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  h.path_exists = [](std::string_view p) { return fs::exists(std::string(p)); };
  return h;
}

class SpecgenEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (access(BERTH_RUNTIME_PATH, X_OK) != 0) GTEST_SKIP() << "berth-runtime not built";
    if (access("/bin/busybox", X_OK) != 0 || Shell("command -v jq").exit_code != 0)
      GTEST_SKIP() << "needs busybox-static and jq";
    char tmpl[] = "/tmp/specgen-e2e.XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
    RunResult made = Shell("RUNTIME=" + Quote(BERTH_RUNTIME_PATH) + " " + Quote(MAKE_BUNDLE_PATH) +
                           " " + Quote(dir_));
    ASSERT_EQ(made.exit_code, 0) << made.output;
    for (const char* f : {"hostname", "hosts", "resolv.conf"}) {
      std::ofstream out(dir_ + "/" + f);
      out << (std::string(f) == "hosts" ? "127.0.0.1 localhost\n" : "");
    }
  }

  void TearDown() override {
    // The runtime removes each container's cgroup; the parent is ours to remove.
    std::error_code ec;
    for (const auto& base : {fs::path("/sys/fs/cgroup"), fs::path("/sys/fs/cgroup/unified")})
      fs::remove(base / "berth-specgen-test", ec);
    for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec))
      fs::remove(entry.path() / "berth-specgen-test", ec);
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Generates the spec for `request_json` over a busybox image and runs it to completion.
  RunResult Run(const std::string& request_json) {
    auto req = ParseCreateRequest(request_json);
    EXPECT_TRUE(req) << req.error().message();
    oci::ImageConfig image;
    image.config.env = {"PATH=/bin"};
    image.config.cmd = {"sh"};
    ContainerPaths paths;
    paths.id = "specgen-e2e-" + std::to_string(getpid()) + "-" + std::to_string(++counter_);
    paths.rootfs = dir_ + "/rootfs";
    paths.hostname_file = dir_ + "/hostname";
    paths.hosts_file = dir_ + "/hosts";
    paths.resolv_conf_file = dir_ + "/resolv.conf";
    paths.cgroups_path = "/berth-specgen-test/" + paths.id;
    std::vector<std::string> warnings;
    auto spec = GenerateSpec(*req, image, ProbeHostFacts(), paths, &warnings);
    EXPECT_TRUE(spec) << spec.error().message();
    if (!spec) return {};
    {
      std::ofstream out(dir_ + "/config.json");
      out << oci::SerializeSpec(*spec);
    }
    return Shell(Quote(BERTH_RUNTIME_PATH) + " --root " + Quote(dir_ + "/state") +
                 " run --bundle " + Quote(dir_) + " " + paths.id + " </dev/null");
  }

  std::string dir_;
  int counter_ = 0;
};

TEST_F(SpecgenEndToEnd, EchoWorksWithDefaultProfileAndCaps) {
  RunResult r = Run(R"({"Cmd": ["echo", "hello"]})");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello\n");
}

TEST_F(SpecgenEndToEnd, UnshareIsRefusedByDefault) {
  RunResult r = Run(R"({"Cmd": ["unshare", "-n", "true"]})");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Operation not permitted"), std::string::npos) << r.output;
}

TEST_F(SpecgenEndToEnd, UnshareWorksWithSysAdmin) {
  RunResult r =
      Run(R"({"Cmd": ["unshare", "-n", "true"], "HostConfig": {"CapAdd": ["SYS_ADMIN"]}})");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(SpecgenEndToEnd, ProcFilesAreMaskedAndCapsAreDockers) {
  // /proc/kcore exists only with CONFIG_PROC_KCORE (this VM's kernel lacks it);
  // /proc/interrupts (a side channel, GHSA-6fw5-f8r9-fgfm) is masked the same way.
  std::string kcore = access("/proc/kcore", F_OK) == 0 ? "wc -c < /proc/kcore; " : "echo 0; ";
  RunResult r = Run(R"({"Cmd": ["sh", "-c", ")" + kcore +
                    R"(wc -c < /proc/interrupts; grep CapBnd /proc/self/status"]})");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // 14 default caps: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
  // NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
  EXPECT_EQ(r.output, "0\n0\nCapBnd:\t00000000a80425fb\n");
}

TEST_F(SpecgenEndToEnd, UlimitAboveTheHostIsClampedNotFatal) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 1048576) GTEST_SKIP() << "host allows it";
  RunResult r = Run(R"({"Cmd": ["sh", "-c", "ulimit -Hn"], "HostConfig": {"Ulimits": [
                        {"Name": "nofile", "Soft": 1048576, "Hard": 1048576}]}})");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, std::to_string(rl.rlim_max) + "\n");
}

TEST_F(SpecgenEndToEnd, PrivilegedRunsOnThisHost) {
  // The host's bounding set, not a static "all caps" list: works even when root lacks some.
  RunResult r = Run(R"({"Cmd": ["sh", "-c", "unshare -n true && echo ok"],
                        "HostConfig": {"Privileged": true}})");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "ok\n");
}

}  // namespace
}  // namespace berth::daemon::spec
