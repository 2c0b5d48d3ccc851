// Test-only: Debian's docker-registry (distribution 2.8) run on 127.0.0.1:<free port> from a
// temporary directory, for the registry client's integration tests. Never linked into a product.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "registry/client.h"
#include "registry/fake_server.h"

extern char** environ;

namespace berth::registry::testing_registry {

inline constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";

// Client settings for tests: short backoffs and timeouts, a few attempts.
inline ClientOptions FastOptions(const RegistryHosts* hosts,
                                 const CredentialStore* creds = nullptr) {
  ClientOptions o;
  o.hosts = hosts;
  o.credentials = creds;
  o.initial_backoff = std::chrono::milliseconds(5);
  o.max_backoff = std::chrono::milliseconds(50);
  o.max_attempts = 3;
  o.connect_timeout_s = 5;
  o.stall_timeout_s = 10;
  return o;
}

// Runs `command` through popen; its stdout, and the exit status in *status.
inline std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

// docker-registry serving a temporary directory on 127.0.0.1:<free port>; killed (by pid) and
// removed when destroyed.
class RegistryProcess {
 public:
  // `htpasswd_entry` non-empty turns on Basic auth with that "user:bcrypt" line. `http_yaml`
  // is added under `http:` (lines indented by two spaces: tls), `auth_yaml` at the top level
  // (an `auth:` section; not together with htpasswd).
  static std::unique_ptr<RegistryProcess> Start(const std::string& htpasswd_entry,
                                                std::string* error,
                                                const std::string& http_yaml = "",
                                                const std::string& auth_yaml = "") {
    auto r = std::unique_ptr<RegistryProcess>(new RegistryProcess());
    char tmpl[] = "/tmp/berth-registry-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    r->dir_ = tmpl;
    r->port_ = fakes::UnusedPort();
    std::string config =
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " +
        r->dir_ +
        "/data\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:" +
        std::to_string(r->port_) + "\n" + http_yaml + auth_yaml;
    if (!htpasswd_entry.empty()) {
      std::ofstream(r->dir_ + "/htpasswd") << htpasswd_entry << "\n";
      config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + r->dir_ + "/htpasswd\n";
    }
    std::ofstream(r->dir_ + "/config.yml") << config;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = r->dir_ + "/registry.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string config_path = r->dir_ + "/config.yml";
    const char* argv[] = {kRegistryBinary, "serve", config_path.c_str(), nullptr};
    int rc = posix_spawn(&r->pid_, kRegistryBinary, &actions, nullptr,
                         const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      r->pid_ = -1;
      *error = std::string("spawn docker-registry: ") + strerror(rc);
      return nullptr;
    }
    // Ready when /v2/ answers with a status line.
    for (int i = 0; i < 200; ++i) {
      if (r->Answers()) return r;
      int status;
      if (waitpid(r->pid_, &status, WNOHANG) == r->pid_) {
        r->pid_ = -1;
        std::ifstream in(log);
        *error = "docker-registry exited: " +
                 std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    *error = "docker-registry did not answer on /v2/ within 10s";
    return nullptr;
  }

  ~RegistryProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status;
      bool reaped = false;
      for (int i = 0; i < 100 && !reaped; ++i) {
        reaped = waitpid(pid_, &status, WNOHANG) == pid_;
        if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!reaped) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    if (!dir_.empty()) (void)system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::string domain() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + domain(); }
  const std::string& dir() const { return dir_; }

 private:
  RegistryProcess() = default;

  bool Answers() const {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const char req[] = "GET /v2/ HTTP/1.0\r\n\r\n";
      char buf[16] = {0};
      ok = write(fd, req, sizeof(req) - 1) == ssize_t(sizeof(req) - 1) && read(fd, buf, 8) == 8 &&
           std::string(buf, 5) == "HTTP/";
    }
    close(fd);
    return ok;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace berth::registry::testing_registry
