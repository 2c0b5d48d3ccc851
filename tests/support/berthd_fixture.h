// BerthdFixture: a GoogleTest fixture with a real berthd on a temporary root and socket and a
// busybox:latest image imported from make-bundle.sh's rootfs. Header-only because it uses the
// including test's BERTHD_PATH and MAKE_BUNDLE definitions. Needs root; skips otherwise.
//
// TearDown removes every container through the API (they outlive berthd by design), stops
// berthd, unmounts what is left under the temporary directory and removes it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/client.h"
#include "test_support.h"

namespace berth::test_support {

inline constexpr const char* kDockerCli = "/usr/local/bin/docker";

class BerthdFixture : public ::testing::Test {
 protected:
  // `prefix`: a short mkdtemp prefix ("/tmp/bct-"): the shims' sockets must fit in sun_path.
  // `needs_docker`: skip without the docker CLI.
  BerthdFixture(std::string prefix, bool needs_docker)
      : prefix_(std::move(prefix)), needs_docker_(needs_docker) {}

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (overlay mounts, namespaces)";
    if (needs_docker_ && access(kDockerCli, X_OK) != 0) GTEST_SKIP() << "no docker CLI";
    if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static is not installed";
    std::string templ = prefix_ + "XXXXXX";
    ASSERT_TRUE(mkdtemp(templ.data()));
    dir_ = templ;
    sock_ = dir_ + "/berth.sock";
    std::filesystem::create_directories(dir_ + "/home/.docker");
    std::ofstream(dir_ + "/daemon.json") << "{}";
    env_ = "DOCKER_HOST=unix://" + sock_ + " BERTH_HOST=unix://" + sock_ +
           " DOCKER_CONFIG=" + dir_ + "/home/.docker HOME=" + dir_ + "/home ";
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
    auto [rc, out] = Shell(std::string("RUNTIME=runc ") + MAKE_BUNDLE + " " + dir_ + "/bundle");
    ASSERT_EQ(rc, 0) << out;
    std::tie(rc, out) = Shell("tar -C " + dir_ + "/bundle/rootfs -cf " + dir_ + "/root.tar .");
    ASSERT_EQ(rc, 0) << out;
    auto r = client_->Do("POST", "/images/create?fromSrc=-&repo=busybox&tag=latest",
                         ReadAll(dir_ + "/root.tar"), "application/x-tar");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message()) << Log();
  }

  void TearDown() override {
    if (pid_ > 0) {
      if (auto list = client_->Get("/containers/json?all=1"); list && list->status == 200) {
        for (const auto& c : nlohmann::json::parse(list->body, nullptr, false)) {
          if (!c.is_object()) continue;
          std::string id = c.value("Id", "");
          (void)client_->Post("/containers/" + id + "/unpause");
          (void)client_->Do("DELETE", "/containers/" + id + "?force=1");
        }
      }
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) {
      Shell("grep -o ' " + dir_ + "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r umount -l");
      std::filesystem::remove_all(dir_);
    }
  }

  // Starts berthd on the fixture's roots (again, after a crash: the log is appended to) and
  // waits for its ping.
  void StartDaemon() {
    std::vector<std::string> args = {BERTHD_PATH, "-H",          "unix://" + sock_, "--data-root",
                                     dir_ + "/d", "--exec-root", dir_ + "/e"};
    args.insert(args.end(), {"--pidfile", dir_ + "/berthd.pid", "--config-file",
                             dir_ + "/daemon.json", "--log-level", "debug"});
    args.insert(args.end(), extra_daemon_args_.begin(), extra_daemon_args_.end());
    pid_ = Spawn(args, dir_ + "/berthd.log");
    ASSERT_GT(pid_, 0);
    client_ = std::make_unique<client::Client>(sock_);
    bool ready = false;
    for (int i = 0; i < 200 && !ready; ++i) {
      auto r = client_->Get("/_ping");
      ready = r && r->status == 200;
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(ready) << Log();
  }

  std::string Log() { return "\n--- berthd.log ---\n" + ReadAll(dir_ + "/berthd.log"); }
  // The docker CLI against this berthd, stderr merged into stdout.
  std::pair<int, std::string> Docker(const std::string& args) {
    return Shell(env_ + kDockerCli + " " + args);
  }
  // The full id of a container, "" when there is none.
  std::string Id(const std::string& name) {
    auto [rc, out] = Docker("inspect -f '{{.Id}}' " + name);
    return rc == 0 ? out.substr(0, out.find('\n')) : "";
  }

  std::string prefix_;
  bool needs_docker_;
  // Appended to berthd's arguments (more -H, TLS flags); set before SetUp().
  std::vector<std::string> extra_daemon_args_;
  std::string dir_, sock_, env_;
  pid_t pid_ = -1;
  std::unique_ptr<client::Client> client_;
};

}  // namespace berth::test_support
