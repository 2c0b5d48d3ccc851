// Integration tests of the container routes: the real berthd (with berth-shim next to it) on
// temporary roots, an image made with `docker import` from a busybox-static rootfs, driven by
// the docker CLI (/usr/local/bin/docker). Needs root (overlay mounts, namespaces, cgroups).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berthd_fixture.h"
#include "client/client.h"
#include "test_support.h"

extern char** environ;

namespace berth {
namespace {
using berth::test_support::Python;
using berth::test_support::ReadAll;
using berth::test_support::Shell;
using berth::test_support::Spawn;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kDocker = "/usr/local/bin/docker";

class DaemonContainersTest : public test_support::BerthdFixture {
 protected:
  DaemonContainersTest() : BerthdFixture("/tmp/bct-", true) {}

  // Polls `docker inspect -f format name` until it prints `want` (10 s at most).
  std::string InspectUntil(const std::string& format, const std::string& name,
                           const std::string& want) {
    std::string out;
    for (int i = 0; i < 200; ++i) {
      out = Docker("inspect -f '" + format + "' " + name).second;
      if (out == want) break;
      std::this_thread::sleep_for(50ms);
    }
    return out;
  }

  // (Re)starts berthd with BERTH_STANDBY_MARK=<dir> in its environment, which its standby shims
  // inherit (StandbyPids finds them by it); returns that mark.
  std::string StartMarkedDaemon() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    setenv("BERTH_STANDBY_MARK", dir_.c_str(), 1);
    StartDaemon();
    unsetenv("BERTH_STANDBY_MARK");
    return "BERTH_STANDBY_MARK=" + dir_;
  }

  int ShimPid(const std::string& id) {
    return std::atoi(ReadAll(dir_ + "/e/shim/" + id + "/shim.pid").c_str());
  }
  // Nothing of the container is left on the host: mounts, shim, cgroup.
  void ExpectGone(const std::string& id, int shim_pid) {
    EXPECT_EQ(ReadAll("/proc/self/mountinfo").find(dir_), std::string::npos)
        << ReadAll("/proc/self/mountinfo");
    if (shim_pid > 0) {
      bool dead = false;
      for (int i = 0; i < 100 && !dead; ++i) {
        dead = kill(shim_pid, 0) != 0;
        if (!dead) std::this_thread::sleep_for(50ms);
      }
      EXPECT_TRUE(dead) << "berth-shim " << shim_pid << " still runs";
    }
    auto [rc, out] = Shell("find /sys/fs/cgroup -name '*" + id + "*'");
    EXPECT_EQ(out, "") << out;
    EXPECT_FALSE(fs::exists(dir_ + "/d/containers/" + id));
    EXPECT_FALSE(fs::exists(dir_ + "/e/containers/" + id));
  }
};

TEST_F(DaemonContainersTest, CreateStartWaitLogsInspectRm) {
  auto [rc, out] = Docker("create --name c1 busybox:latest sh -c 'echo out; echo err >&2; exit 3'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  EXPECT_EQ(id.size(), 64u) << out;
  std::tie(rc, out) = Docker("inspect -f '{{.State.Status}} {{.Name}} {{.Path}}' c1");
  EXPECT_EQ(out, "created /c1 sh\n");
  // The log file is made with the create (in the background, with the rootfs mount), owner-only.
  std::string log = Docker("inspect -f '{{.LogPath}}' c1").second;
  log.erase(log.find_last_not_of('\n') + 1);
  for (int i = 0; i < 100 && !fs::exists(log); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(fs::exists(log)) << log;
  EXPECT_EQ(fs::file_size(log), 0u);
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  std::tie(rc, out) = Docker("create --name c1 busybox true");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("Conflict. The container name \"/c1\" is already in use by container \"" + id +
                     "\""),
            std::string::npos)
      << out;

  std::tie(rc, out) = Docker("start c1");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("wait c1");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "3\n");
  std::tie(rc, out) = Docker("logs c1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("out\n"), std::string::npos) << out;
  EXPECT_NE(out.find("err\n"), std::string::npos) << out;
  std::tie(rc, out) = Shell("(" + env_ + kDocker + " logs c1 2>/dev/null)");
  EXPECT_EQ(out, "out\n");
  std::tie(rc, out) = Docker("inspect -f '{{.State.ExitCode}} {{.State.Status}}' c1");
  EXPECT_EQ(out, "3 exited\n") << out;
  std::tie(rc, out) = Docker("ps -a");
  EXPECT_NE(out.find("c1"), std::string::npos) << out;
  EXPECT_NE(out.find("Exited (3)"), std::string::npos) << out;
  std::tie(rc, out) = Docker("ps");
  EXPECT_EQ(out.find("c1"), std::string::npos) << out;
  std::tie(rc, out) = Docker("rm c1");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("container inspect c1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("No such container: c1"), std::string::npos) << out;
  ExpectGone(id, 0);
}

TEST_F(DaemonContainersTest, RunDetachedStopRm) {
  auto [rc, out] = Docker("run -d --name c2 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  int shim = ShimPid(id);
  EXPECT_GT(shim, 0);
  // The shim runs from a read-only view of its file (CVE-2019-5736 class): its exe cannot be
  // reopened for writing from a container.
  struct statvfs vfs;
  ASSERT_EQ(statvfs(("/proc/" + std::to_string(shim) + "/exe").c_str(), &vfs), 0);
  EXPECT_NE(vfs.f_flag & ST_RDONLY, 0u) << "berth-shim runs from a writable mount";
  std::tie(rc, out) = Docker("ps");
  EXPECT_NE(out.find("c2"), std::string::npos) << out;
  EXPECT_NE(out.find("Up "), std::string::npos) << out;
  std::tie(rc, out) = Docker("inspect -f '{{.State.Running}} {{.State.Pid}}' c2");
  EXPECT_EQ(out.rfind("true ", 0), 0u) << out;
  std::tie(rc, out) = Docker("start c2");  // already running: 304, not an error
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("stop -t 1 c2");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("inspect -f '{{.State.Status}} {{.State.ExitCode}}' c2");
  // sleep is the pid namespace's init, which ignores TERM: KILL after 1 s.
  EXPECT_EQ(out, "exited 137\n") << out;
  std::tie(rc, out) = Docker("rm c2");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, shim);
}

TEST_F(DaemonContainersTest, RmRunningNeedsForce) {
  auto [rc, out] = Docker("run -d --name c3 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  int shim = ShimPid(id);
  std::tie(rc, out) = Docker("rm c3");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("You cannot remove a running container " + id +
                     ". Stop the container before attempting removal or force remove"),
            std::string::npos)
      << out;
  std::tie(rc, out) = Docker("kill c3");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("wait c3");
  EXPECT_EQ(out, "137\n") << out;
  std::tie(rc, out) = Docker("start c3");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("rm -f c3");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, shim);
  std::tie(rc, out) = Docker("rm c3");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("No such container: c3"), std::string::npos) << out;
}

// docker run's attached flow: attach before start, wait?condition=removed, output from the
// first byte, the exit code from wait, --rm removing the container.
TEST_F(DaemonContainersTest, RunAttachedRmExitCode) {
  auto [rc, out] =
      Shell("(" + env_ + kDocker + " run --rm busybox sh -c 'echo out; echo err >&2; exit 3' 2>" +
            dir_ + "/err)");
  EXPECT_EQ(rc, 3) << out << Log();
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(ReadAll(dir_ + "/err"), "err\n");
  std::tie(rc, out) = Docker("ps -aq");
  EXPECT_EQ(out, "") << "--rm left the container behind";
  std::tie(rc, out) = Docker("run --rm busybox seq 1 20000");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 20000) << "lost output";
}

// berthd handles an exit as soon as the shim renames exit.json, while the shim still removes
// the container's cgroups and runtime state: `run --rm` still returns only once those are gone,
// and a start right after an exit waits for the old shim (both runs use the container's id).
// A create leaves its seccomp profile's text for the next standby shims, which parse it while
// they wait (berth-shim --standby --seccomp-hint): the text is the value of linux.seccomp in the
// container's config.json, byte for byte.
TEST_F(DaemonContainersTest, StandbysGetTheLastContainersSeccompProfile) {
  auto [rc, out] = Docker("create --name sh1 busybox true");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  std::string config = ReadAll(dir_ + "/e/containers/" + id + "/bundle/config.json");
  const std::string line = "\n\t\t\"seccomp\": ";
  size_t at = config.rfind(line);
  ASSERT_NE(at, std::string::npos) << config;
  std::string hint_path = dir_ + "/e/seccomp-hint.json";
  std::string hint;
  std::string standby_args;
  // Written by the create's background task; the standby comes once starts leave the host alone.
  for (int i = 0; i < 100 && standby_args.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    hint = ReadAll(hint_path);
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string cmdline = ReadAll(e.path().string() + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find("--standby --seccomp-hint " + hint_path) != std::string::npos)
        standby_args = cmdline;
    }
  }
  ASSERT_FALSE(hint.empty()) << Log();
  EXPECT_EQ(config.compare(at + line.size(), hint.size(), hint), 0) << hint;
  EXPECT_FALSE(standby_args.empty()) << "no standby was given the hint";
  // A container started by that standby runs with the profile.
  std::tie(rc, out) = Docker("run --rm busybox grep Seccomp: /proc/self/status");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("Seccomp:\t2"), std::string::npos) << out;
  std::tie(rc, out) = Docker("rm sh1");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(DaemonContainersTest, ExitHandledBeforeTheShimEndsLeavesNothing) {
  for (int i = 0; i < 3; ++i) {
    std::string cidfile = dir_ + "/cid" + std::to_string(i);
    auto [rc, out] = Docker("run --rm --cidfile " + cidfile + " busybox true");
    ASSERT_EQ(rc, 0) << out << Log();
    std::string id = ReadAll(cidfile);
    ASSERT_EQ(id.size(), 64u) << id;
    // No waiting here: removed means the cgroups are gone already.
    std::tie(rc, out) = Shell("find /sys/fs/cgroup -name '*" + id + "*'");
    EXPECT_EQ(out, "") << out;
    EXPECT_FALSE(fs::exists(dir_ + "/e/runtime/" + id));
  }
  auto [rc, out] = Docker("create --name again busybox sh -c 'exit 7'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  for (int i = 0; i < 4; ++i) {
    std::tie(rc, out) = Docker("start -a again");
    EXPECT_EQ(rc, 7) << "start " << i << ": " << out << Log();
  }
  std::tie(rc, out) = Docker("inspect -f '{{.State.Status}} {{.State.ExitCode}}' again");
  EXPECT_EQ(out, "exited 7\n") << out;
  std::tie(rc, out) = Docker("rm again");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, 0);
}

// A --rm container's layer is mounted "volatile" (never synced: it is deleted at exit), a kept
// container's is not; a removed container's directories leave their paths at once and the
// trash they go to is emptied in the background.
TEST_F(DaemonContainersTest, ThrowawayLayerAndDeferredRemoval) {
  auto [rc, out] = Docker("run -d --rm --name v1 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string v1 = out.substr(0, out.find('\n'));
  std::tie(rc, out) = Docker("run -d --name v2 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string v2 = out.substr(0, out.find('\n'));
  // The container's root as its init has it (mount point "/" in its own mountinfo).
  auto mount_options = [&](const std::string& id) {
    std::string pid = Docker("inspect -f '{{.State.Pid}}' " + id).second;
    pid.erase(pid.find_last_not_of("\n") + 1);
    std::istringstream in(ReadAll("/proc/" + pid + "/mountinfo"));
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string mount_id, parent, dev, root, point;
      f >> mount_id >> parent >> dev >> root >> point;
      if (point == "/") return line;
    }
    return std::string("(not mounted)");
  };
  EXPECT_NE(mount_options(v1).find("volatile"), std::string::npos) << mount_options(v1);
  EXPECT_EQ(mount_options(v2).find("volatile"), std::string::npos) << mount_options(v2);
  EXPECT_NE(mount_options(v1).find(" overlay "), std::string::npos) << mount_options(v1);
  // The host's mount of a running container's rootfs is detached soon after the start: the
  // container's exit then has no host unmount to wait for.
  auto host_mounted = [&](const std::string& id) {
    return ReadAll("/proc/self/mountinfo").find("/e/containers/" + id + "/bundle/rootfs ") !=
           std::string::npos;
  };
  for (int i = 0; i < 100 && (host_mounted(v1) || host_mounted(v2)); ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(host_mounted(v1));
  EXPECT_FALSE(host_mounted(v2));
  // What reads the container's files goes through its init's root: exec -u by name.
  std::tie(rc, out) = Docker("exec -u nobody v2 id -un");
  EXPECT_EQ(out, "nobody\n") << rc << Log();
  int shim1 = ShimPid(v1), shim2 = ShimPid(v2);
  std::tie(rc, out) = Docker("kill v1");  // --rm: removed once it exits
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("rm -f v2");
  EXPECT_EQ(rc, 0) << out << Log();
  for (int i = 0; i < 100 && Docker("ps -aq").second != ""; ++i) std::this_thread::sleep_for(50ms);
  ExpectGone(v1, shim1);
  ExpectGone(v2, shim2);
  bool empty = false;
  for (int i = 0; i < 100 && !empty; ++i) {
    empty = fs::is_empty(dir_ + "/d/trash") && fs::is_empty(dir_ + "/e/trash");
    if (!empty) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(empty) << "trash not emptied";
}

// A container starts as under Docker: no signal ignored (berthd ignores SIGPIPE, and execve
// would pass that on), and a --network none container has its loopback up.
TEST_F(DaemonContainersTest, DefaultSignalsAndLoopback) {
  auto [rc, out] = Docker("run --rm busybox grep ^SigIgn /proc/self/status");
  EXPECT_EQ(out, "SigIgn:\t0000000000000000\n") << rc << Log();
  std::tie(rc, out) = Docker("run -d --name sig busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("exec sig grep ^SigIgn /proc/self/status");
  EXPECT_EQ(out, "SigIgn:\t0000000000000000\n") << rc << Log();
  std::tie(rc, out) = Docker("rm -f sig");
  std::tie(rc, out) = Docker("run --rm --network none busybox ip addr show lo");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("<LOOPBACK,UP"), std::string::npos) << out;
  EXPECT_NE(out.find("inet 127.0.0.1/8"), std::string::npos) << out;
  std::tie(rc, out) = Docker("run --rm --network none busybox ping -c 1 -W 2 127.0.0.1");
  EXPECT_EQ(rc, 0) << out;
}

// The standby shim makes its container's network namespace ahead: each container still gets
// one of its own, not the host's nor another's, and a container that shares the host's gets no
// stray one (the standby's spare is closed).
TEST_F(DaemonContainersTest, EachContainerHasANetworkNamespaceOfItsOwn) {
  auto inspect = [&](const std::string& format, const std::string& name) {
    std::string out = Docker("inspect -f '" + format + "' " + name).second;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  auto netns_of = [&](const std::string& name) {
    std::error_code ec;
    return fs::read_symlink("/proc/" + inspect("{{.State.Pid}}", name) + "/ns/net", ec).string();
  };
  // The network namespaces a container's shim holds open: the container's own at most (until
  // its exit), not the spare one its standby made.
  auto shim_netns_fds = [&](const std::string& name) {
    std::vector<std::string> held;
    std::error_code ec;
    std::string fds = "/proc/" + std::to_string(ShimPid(inspect("{{.Id}}", name))) + "/fd";
    for (const auto& e : fs::directory_iterator(fds, ec)) {
      std::string target = fs::read_symlink(e.path(), ec).string();
      if (target.rfind("net:[", 0) == 0) held.push_back(target);
    }
    return held;
  };
  std::string host = fs::read_symlink("/proc/self/ns/net").string();
  std::vector<std::string> seen;
  for (const char* name : {"n1", "n2"}) {
    // Apart, so that each start finds a standby (made once starts leave the host alone).
    std::this_thread::sleep_for(300ms);
    auto [rc, out] = Docker(std::string("run -d --name ") + name + " busybox sleep 1000");
    ASSERT_EQ(rc, 0) << out << Log();
    seen.push_back(netns_of(name));
    EXPECT_EQ(seen.back().rfind("net:[", 0), 0u) << seen.back();
    EXPECT_NE(seen.back(), host);
    for (const auto& held : shim_netns_fds(name)) EXPECT_EQ(held, seen.back());
  }
  EXPECT_NE(seen[0], seen[1]);
  std::this_thread::sleep_for(300ms);
  auto [rc, out] = Docker("run -d --name hn --network host busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(netns_of("hn"), host);
  EXPECT_TRUE(shim_netns_fds("hn").empty());
  std::tie(rc, out) = Docker("rm -f n1 n2 hn");
  EXPECT_EQ(rc, 0) << out;
}

// A --rm container's hostname, hosts and resolv.conf live with its runtime state (exec root), a
// kept container's in the data root, as dockerd's; the container sees them either way.
TEST_F(DaemonContainersTest, NetworkFilesOfRmContainersLiveWithTheRuntimeState) {
  auto [rc, out] = Docker("run -d --rm --name nf1 --hostname h1 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("run -d --name nf2 --hostname h2 busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) =
      Docker("inspect -f '{{.HostsPath}} {{.HostnamePath}} {{.ResolvConfPath}}' nf1");
  EXPECT_EQ(out.rfind(dir_ + "/e/containers/", 0), 0u) << out;
  EXPECT_EQ(out.find(dir_ + "/d/"), std::string::npos) << out;
  std::string hostname_path = out.substr(out.find(' ') + 1);
  hostname_path = hostname_path.substr(0, hostname_path.find(' '));
  EXPECT_EQ(ReadAll(hostname_path), "h1\n");
  std::tie(rc, out) = Docker("inspect -f '{{.HostsPath}} {{.HostnamePath}}' nf2");
  EXPECT_EQ(out.rfind(dir_ + "/d/", 0), 0u) << out;
  for (const char* name : {"nf1", "nf2"}) {
    std::tie(rc, out) =
        Docker(std::string("exec ") + name + " sh -c 'hostname; grep -c localhost /etc/hosts'");
    EXPECT_EQ(out, std::string("h") + name[2] + "\n2\n") << rc << Log();
  }
  std::tie(rc, out) = Docker("rm -f nf1 nf2");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_FALSE(fs::exists(hostname_path));
}

// What scripts/compare-docker found different from dockerd 20.10 with the same image.
TEST_F(DaemonContainersTest, ProcessSeesWhatDockerShows) {
  auto [rc, out] = Docker("run --rm busybox sh -c 'id; echo $HOME'");
  EXPECT_EQ(out, "uid=0(root) gid=0(root) groups=0(root)\n/root\n") << rc << Log();
  std::tie(rc, out) = Docker("run --rm -u 1000:1000 busybox sh -c 'id; echo $HOME'");
  EXPECT_EQ(out, "uid=1000(user) gid=1000(user) groups=1000(user)\n/home/user\n") << rc;
  // A missing working directory is created, root-owned.
  std::tie(rc, out) = Docker("run --rm -w /new/dir busybox sh -c 'pwd; stat -c %U:%a .'");
  EXPECT_EQ(out, "/new/dir\nroot:755\n") << rc << Log();
  std::tie(rc, out) = Docker("run --rm -w /etc/passwd busybox true");
  EXPECT_NE(rc, 0) << out;
  // Templates over fields dockerd always reports print values, not "<no value>".
  std::tie(rc, out) = Docker("create --name insp --network none busybox true");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker(
      "inspect -f '[{{.NetworkSettings.IPAddress}}] {{len .NetworkSettings.Networks}} "
      "{{.HostConfig.KernelMemory}} {{.GraphDriver.Name}} {{.GraphDriver.Data.UpperDir}}' insp");
  EXPECT_EQ(out.rfind("[] 1 0 overlay2 /", 0), 0u) << out;
  EXPECT_EQ(out.find("<no value>"), std::string::npos) << out;
  std::tie(rc, out) = Docker("rm insp");
  // ps quotes the arguments that hold a space, as dockerd's list does.
  std::tie(rc, out) = Docker("create --name quoted busybox sh -c 'echo a b'");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("ps -a --no-trunc --filter name=quoted --format '{{.Command}}'");
  EXPECT_EQ(out, "\"sh -c 'echo a b'\"\n");
  std::tie(rc, out) = Docker("rm quoted");
  // Without a container network, /etc/hosts has the standard entries only.
  std::tie(rc, out) = Docker("run --rm --hostname box.example busybox cat /etc/hosts");
  EXPECT_EQ(out.find("box.example"), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1\tlocalhost"), std::string::npos) << out;
}

TEST_F(DaemonContainersTest, RunInteractiveStdinAndTty) {
  auto [rc, out] = Shell("printf 'abc\\ndef\\n' | " + env_ + kDocker +
                         " run -i --rm busybox sh -c 'cat; echo done'");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "abc\ndef\ndone\n");
  // -it through a pseudo-terminal made by script(1).
  std::tie(rc, out) = Shell("script -qec \"" + env_ + kDocker +
                            " run -it --rm busybox sh -c 'tty; exit 4'\" /dev/null");
  EXPECT_EQ(rc, 4) << out << Log();
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
}

TEST_F(DaemonContainersTest, AttachAndStartAttach) {
  auto [rc, out] = Docker("run -d --name a1 busybox sh -c 'sleep 1; echo late; exit 6'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("attach a1");
  EXPECT_EQ(rc, 6) << out << Log();
  EXPECT_EQ(out, "late\n");
  std::tie(rc, out) = Docker("create --name a2 busybox echo hello");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = Docker("start -a a2");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "hello\n");
  std::tie(rc, out) = Docker("start -a a2");  // a second run, attached again
  EXPECT_EQ(out, "hello\n");
  std::tie(rc, out) = Docker("logs a2");
  EXPECT_EQ(out, "hello\nhello\n");
}

TEST_F(DaemonContainersTest, RestartPolicies) {
  auto [rc, out] =
      Docker("run -d --name p1 --restart on-failure:2 busybox sh -c 'echo run; exit 1'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string logs;
  for (int i = 0; i < 200 && logs != "run\nrun\nrun\n"; ++i) {
    std::this_thread::sleep_for(50ms);
    logs = Docker("logs p1").second;
  }
  EXPECT_EQ(logs, "run\nrun\nrun\n") << Log();
  EXPECT_EQ(InspectUntil("{{.RestartCount}} {{.State.Status}}", "p1", "2 exited\n"), "2 exited\n")
      << Log();
  std::this_thread::sleep_for(500ms);  // no fourth run
  EXPECT_EQ(Docker("logs p1").second, "run\nrun\nrun\n");
  // always: restarted after it exits by itself, not after `docker stop`.
  std::tie(rc, out) = Docker("run -d --name p2 --restart always busybox sh -c 'sleep 0.3'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string count;
  for (int i = 0; i < 200; ++i) {
    count = Docker("inspect -f '{{.RestartCount}}' p2").second;
    if (count != "0\n") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(count, "0\n") << Log();
  std::tie(rc, out) = Docker("stop -t 1 p2");
  EXPECT_EQ(rc, 0) << out;
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Docker("inspect -f '{{.State.Status}}' p2").second, "exited\n") << Log();
  // A stop while the container waits out its back-off (0.8 s after the third restart) cancels
  // the pending restart, as dockerd's stop of a restarting container does.
  std::tie(rc, out) = Docker("run -d --name p3 --restart always busybox sh -c 'exit 1'");
  ASSERT_EQ(rc, 0) << out << Log();
  for (int i = 0; i < 200; ++i) {
    count = Docker("inspect -f '{{.RestartCount}}' p3").second;
    if (count >= "3\n" && count.size() == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  std::tie(rc, out) = Docker("stop -t 1 p3");
  EXPECT_EQ(rc, 0) << out;
  std::string stopped = Docker("inspect -f '{{.RestartCount}} {{.State.Status}}' p3").second;
  std::this_thread::sleep_for(2s);  // longer than the back-off it was waiting for
  EXPECT_EQ(Docker("inspect -f '{{.RestartCount}} {{.State.Status}}' p3").second, stopped) << Log();
  EXPECT_NE(stopped.find("exited"), std::string::npos) << stopped;
}

// SIGKILL of berthd leaves containers running; the next berthd re-adopts them and records the
// exits that happened while it was away.
TEST_F(DaemonContainersTest, SurvivesDaemonSigkill) {
  auto [rc, out] = Docker(
      "run -d --name k1 busybox sh -c 'trap \"exit 7\" TERM; while true; do echo tick; sleep "
      "0.1; done'");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  std::tie(rc, out) = Docker("run -d --name k2 busybox sh -c 'sleep 1; exit 5'");
  ASSERT_EQ(rc, 0) << out << Log();
  int shim = ShimPid(id);
  ASSERT_EQ(kill(pid_, SIGKILL), 0);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  std::this_thread::sleep_for(1500ms);  // k2 exits while there is no berthd
  EXPECT_EQ(kill(shim, 0), 0) << "the container died with berthd";
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_EQ(Docker("inspect -f '{{.State.Status}}' k1").second, "running\n") << Log();
  EXPECT_EQ(Docker("inspect -f '{{.State.Status}} {{.State.ExitCode}}' k2").second, "exited 5\n");
  std::tie(rc, out) = Docker("wait k2");
  EXPECT_EQ(out, "5\n");
  std::tie(rc, out) = Docker("logs k1");
  EXPECT_NE(out.find("tick\ntick\n"), std::string::npos) << out;
  std::tie(rc, out) = Docker("stop k1");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(Docker("inspect -f '{{.State.ExitCode}}' k1").second, "7\n");
  std::tie(rc, out) = Docker("rm k1 k2");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, shim);
}

// The pids of daemonized `berth-shim --standby` processes whose environment holds `mark`
// (inherited from the berthd that spawned them). The two processes of the daemonizing forks
// also carry the mark for a moment: the daemon is the one that is neither a session leader nor
// a child of `berthd`; with `spawning`, the pids of those two instead.
std::vector<int> StandbyPids(const std::string& mark, pid_t berthd, bool spawning = false) {
  std::vector<int> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadAll(e.path() / "cmdline");
    std::string environ_text = ReadAll(e.path() / "environ");
    std::string stat = ReadAll(e.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    // After "pid (comm) ": state ppid pgrp session ...
    std::istringstream rest(stat.substr(paren + 2));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0;
    rest >> state >> ppid >> pgrp >> session;
    int pid = std::stoi(name);
    if (state == "Z" || (session == pid || ppid == berthd) != spawning) continue;
    if (cmdline.find(std::string("--standby\0")) != std::string::npos &&
        environ_text.find(mark + '\0') != std::string::npos)
      pids.push_back(pid);
  }
  return pids;
}

// berthd keeps one standby shim: a start hands its container to it (that process becomes the
// container's shim), a new one replaces it, and none outlives berthd, SIGKILLed or stopped.
TEST_F(DaemonContainersTest, StandbyShimServesAStartAndNeverOutlivesBerthd) {
  std::string mark = StartMarkedDaemon();
  auto wait_for = [&](auto pred) {
    std::vector<int> pids;
    for (int i = 0; i < 200; ++i) {
      pids = StandbyPids(mark, pid_);
      if (pred(pids)) break;
      std::this_thread::sleep_for(50ms);
    }
    return pids;
  };
  // Ready once the spawning processes are gone (berthd takes the standby when the first exits).
  auto first = wait_for([&](const std::vector<int>& p) {
    return p.size() == 1 && StandbyPids(mark, pid_, true).empty();
  });
  ASSERT_EQ(first.size(), 1u) << Log();
  std::this_thread::sleep_for(200ms);
  auto [rc, out] = Docker("run -d --network none busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string id = out.substr(0, out.find('\n'));
  EXPECT_EQ(ShimPid(id), first[0]) << "the start did not use the standby";
  auto next = wait_for([&](const std::vector<int>& p) {
    return p.size() == 2 && std::count(p.begin(), p.end(), first[0]) == 1;
  });
  ASSERT_EQ(next.size(), 2u);
  ASSERT_EQ(kill(pid_, SIGKILL), 0);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // Only the container's shim is left.
  auto left = wait_for([](const std::vector<int>& p) { return p.size() <= 1; });
  EXPECT_EQ(left, std::vector<int>{first[0]});
  StartMarkedDaemon();
  std::tie(rc, out) = Docker("rm -f " + id);
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, first[0]);
  // An orderly stop takes the standby along too.
  EXPECT_EQ(wait_for([](const std::vector<int>& p) { return p.size() == 1; }).size(), 1u);
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  EXPECT_TRUE(wait_for([](const std::vector<int>& p) { return p.empty(); }).empty());
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
}

// A create hands the container to the standby shim, which sets it up to its process's execve
// (a prelaunch) while the client goes on to the start. A prelaunched container is still
// "created" until started; removing it, or changing its limits, undoes the prelaunch and
// leaves nothing; one not started within two seconds goes back to having no process and
// starts the usual way later.
TEST_F(DaemonContainersTest, PrelaunchedContainersStartRemoveAndUpdate) {
  std::string mark = StartMarkedDaemon();
  // The standby that is ready (alone, and not the one a create took), once there is one.
  auto standby = [&](int taken) {
    for (int i = 0; i < 200; ++i) {
      auto p = StandbyPids(mark, pid_);
      p.erase(std::remove(p.begin(), p.end(), taken), p.end());
      if (p.size() == 1 && StandbyPids(mark, pid_, true).empty()) return p[0];
      std::this_thread::sleep_for(50ms);
    }
    return 0;
  };
  auto shim_of = [&](const std::string& id) {
    int pid = 0;
    for (int i = 0; i < 100 && pid == 0; ++i) {
      pid = ShimPid(id);
      if (pid == 0) std::this_thread::sleep_for(20ms);
    }
    return pid;
  };
  auto create = [&](const std::string& args) {
    auto [rc, out] = Docker("create " + args);
    EXPECT_EQ(rc, 0) << out << Log();
    return out.substr(0, out.find('\n'));
  };

  // Removed unstarted: the prelaunched process, its cgroups and its shim go.
  int first = standby(0);
  ASSERT_GT(first, 0) << Log();
  std::string id = create("--name p1 busybox sh -c 'exit 7'");
  EXPECT_EQ(shim_of(id), first) << "the create did not prelaunch";
  EXPECT_EQ(InspectUntil("{{.State.Status}} {{.State.Pid}}", "p1", "created 0\n"), "created 0\n");
  auto [rc, out] = Docker("rm p1");
  EXPECT_EQ(rc, 0) << out << Log();
  ExpectGone(id, first);

  // Not started in time: the prelaunch is undone, and the start runs it the usual way.
  int second = standby(first);
  ASSERT_GT(second, 0) << Log();
  id = create("--name p2 busybox sh -c 'echo late; exit 7'");
  EXPECT_EQ(shim_of(id), second);
  for (int i = 0; i < 100 && kill(second, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_NE(kill(second, 0), 0) << "the prelaunched shim did not give up";
  std::tie(rc, out) = Docker("start -a p2");
  EXPECT_EQ(rc, 7) << out << Log();
  EXPECT_EQ(out, "late\n");
  std::tie(rc, out) = Docker("rm p2");
  EXPECT_EQ(rc, 0) << out;

  // Limits changed between create and start: the start applies the new ones.
  int third = standby(second);
  ASSERT_GT(third, 0) << Log();
  id = create(
      "--name p3 --pids-limit 50 busybox sh -c 'cat /sys/fs/cgroup/pids/pids.max || "
      "cat /sys/fs/cgroup/pids.max'");
  EXPECT_EQ(shim_of(id), third);
  std::tie(rc, out) = Docker("update --pids-limit 60 p3");
  EXPECT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Docker("start -a p3");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "60\n");
  std::tie(rc, out) = Docker("rm p3");
  EXPECT_EQ(rc, 0) << out;
  ExpectGone(id, third);

  // And a plain run still uses it.
  ASSERT_GT(standby(third), 0);
  std::tie(rc, out) = Docker("run --rm busybox echo ran");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "ran\n");
}

// docker-py (Debian python3-docker) runs a container, reads its logs, execs in it, removes it.
TEST_F(DaemonContainersTest, DockerPyRunLogsExecRemove) {
  if (Shell(Python() + " -c 'import docker'").first != 0) GTEST_SKIP() << "no docker-py";
  std::string script = dir_ + "/py.py";
  std::ofstream(script)
      << "import docker\n"
      << "c = docker.DockerClient(base_url='unix://" << sock_ << "')\n"
      << "print(c.containers.run('busybox', ['sh', '-c', 'echo from-run'], remove=True).decode(), "
         "end='')\n"
      << "k = c.containers.run('busybox', ['sh', '-c', 'echo started; sleep 100'], detach=True,\n"
      << "                     name='py1', environment={'X': 'y'})\n"
      << "import time\n"
      << "for _ in range(100):\n"
      << "    if k.logs(): break\n"
      << "    time.sleep(0.05)\n"
      << "print(k.logs().decode(), end='')\n"
      << "code, out = k.exec_run(['sh', '-c', 'echo exec $X; exit 4'])\n"
      << "print(code, out.decode(), end='')\n"
      << "k.reload(); print(k.status)\n"
      << "k.remove(force=True)\n"
      << "print(len(c.containers.list(all=True)))\n";
  auto [rc, out] = Shell(Python() + " " + script);
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "from-run\nstarted\n4 exec y\nrunning\n0\n") << Log();
}

TEST_F(DaemonContainersTest, ListFiltersAndLimit) {
  auto [rc, out] = Docker("run --name f1 --label tier=db busybox sh -c 'exit 2'");
  EXPECT_EQ(rc, 2) << out << Log();
  std::tie(rc, out) = Docker("run -d --name f2 --label tier=web busybox sleep 100");
  ASSERT_EQ(rc, 0) << out << Log();
  std::string f1 = Id("f1"), f2 = Id("f2");
  auto ids = [&](const std::string& args) {
    auto [code, text] = Docker("ps -q --no-trunc " + args);
    return text;
  };
  EXPECT_EQ(ids("-a --filter name=f1"), f1 + "\n");
  EXPECT_EQ(ids("-a --filter name=f"), f2 + "\n" + f1 + "\n");  // newest first
  EXPECT_EQ(ids("--filter status=exited"), f1 + "\n");
  EXPECT_EQ(ids("--filter exited=2"), f1 + "\n");
  EXPECT_EQ(ids("-a --filter label=tier=web"), f2 + "\n");
  EXPECT_EQ(ids("-a --filter label=tier"), f2 + "\n" + f1 + "\n");
  EXPECT_EQ(ids("-a --filter ancestor=busybox --filter status=running"), f2 + "\n");
  EXPECT_EQ(ids("-n 1"), f2 + "\n");
  EXPECT_EQ(ids("-a --filter before=f2"), f1 + "\n");
  std::tie(rc, out) = Docker("ps --filter colour=red");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("invalid filter 'colour'"), std::string::npos) << out;
  std::tie(rc, out) = Docker("rm -f f1 f2");
  EXPECT_EQ(rc, 0) << out;
}

// User and group names resolve in the container's own /etc/passwd and /etc/group; -it has the
// terminal's size from the first instruction.
TEST_F(DaemonContainersTest, UserNamesAndConsoleSize) {
  auto [rc, out] = Docker("run --rm -u nobody busybox id");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out.rfind("uid=65534(nobody) gid=65534(nogroup)", 0), 0u) << out;
  std::tie(rc, out) = Docker("run --rm -u nobody:root busybox id -g");
  EXPECT_EQ(out, "0\n") << out << Log();
  std::tie(rc, out) = Docker("run --rm -u ghost busybox id");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("unable to find user ghost"), std::string::npos) << out;
  std::tie(rc, out) = Shell("script -qec \"stty rows 33 cols 77; " + env_ + kDocker +
                            " run -it --rm busybox stty size\" /dev/null");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("33 77"), std::string::npos) << out;
}

// Bad input gets a clear 4xx and the daemon stays up.
TEST_F(DaemonContainersTest, BadInputIsRefusedClearly) {
  struct Case {
    std::string method, target, body;
    int status;
    std::string message;
  };
  std::vector<Case> cases = {
      {"POST", "/containers/create", "{\"Image\": ", 400, ""},
      {"POST", "/containers/create", "[1,2]", 400, ""},
      {"POST", "/containers/create", "{\"Image\": 7}", 400, ""},
      {"POST", "/containers/create?name=a/b", "{\"Image\":\"busybox\"}", 400,
       "Invalid container name (a/b)"},
      {"POST", "/containers/create", "{\"Image\":\"UPPER:case\"}", 400, ""},
      {"POST", "/containers/create", "{\"Image\":\"nosuchimage:1\"}", 404,
       "No such image: nosuchimage:1"},
      {"POST", "/containers/nope/start", "", 404, "No such container: nope"},
      {"POST", "/containers/nope/attach?stream=1&stdout=1", "", 404, "No such container: nope"},
      {"POST", "/containers/nope/wait", "", 404, "No such container: nope"},
      {"GET", "/containers/nope/json", "", 404, "No such container: nope"},
      {"DELETE", "/containers/nope", "", 404, "No such container: nope"},
      {"POST", "/containers/nope/kill?signal=TERM", "", 404, "No such container: nope"},
      {"GET", "/containers/x/nonsense", "", 404, "page not found"},
  };
  for (const Case& c : cases) {
    auto r = client_->Do(c.method, c.target, c.body, "application/json");
    ASSERT_TRUE(r) << c.target;
    EXPECT_EQ(r->status, c.status)
        << c.method << " " << c.target << " " << c.body << ": " << r->body;
    EXPECT_EQ(r->Header("Content-Type"), "application/json") << c.target;
    EXPECT_NE(r->body.find("\"message\""), std::string::npos) << r->body;
    if (!c.message.empty()) {
      EXPECT_NE(r->body.find(c.message), std::string::npos) << r->body;
    }
  }
  auto [rc, out] = Docker("create --name w1 busybox true");
  ASSERT_EQ(rc, 0) << out;
  auto r = client_->Post("/containers/w1/wait?condition=sometime", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  std::tie(rc, out) = Docker("run --rm busybox /no/such/binary");
  EXPECT_EQ(rc, 127) << out;
  auto ping = client_->Get("/_ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(kill(pid_, 0), 0) << "berthd died";
}

}  // namespace
}  // namespace berth
