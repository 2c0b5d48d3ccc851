// Integration tests: the real berthd binary on a temporary socket, driven by our client, raw
// bytes, the docker CLI (/usr/local/bin/docker) and docker-py. Each test starts its own daemon.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/system.h"
#include "client/client.h"
#include "test_support.h"

extern char** environ;

namespace berth {
namespace {
using berth::test_support::Python;
using berth::test_support::ReadAll;
using berth::test_support::Shell;

using namespace std::chrono_literals;

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Writes `bytes` to the socket and reads until the server closes (or 5 s pass).
std::string RawExchange(const std::string& sock, const std::string& bytes) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!write(fd, bytes.data(), bytes.size());
  // Half-close: a server waiting for the rest of a request sees EOF instead of waiting.
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

class Daemon {
 public:
  explicit Daemon(const std::string& dir, std::string pidfile_name = "berthd.pid")
      : dir_(dir),
        sock_(dir + "/berth.sock"),
        pidfile_(dir + "/" + pidfile_name),
        log_(dir + "/berthd-" + pidfile_name + ".log") {}
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void Start() {
    std::vector<std::string> args = {BERTHD_PATH,
                                     "-H",
                                     "unix://" + sock_,
                                     "--data-root",
                                     dir_ + "/data",
                                     "--exec-root",
                                     dir_ + "/exec",
                                     "--pidfile",
                                     pidfile_,
                                     "--config-file",
                                     dir_ + "/daemon.json",
                                     "--log-level",
                                     "debug"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }

  // Waits until /_ping answers; false if the daemon exited or 10 s passed.
  bool WaitReady() {
    client::Client c(sock_);
    for (int i = 0; i < 200; ++i) {
      auto r = c.Get("/_ping");
      if (r && r->status == 200) return true;
      if (Exited()) return false;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  bool Exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = st;
      return true;
    }
    return false;
  }

  // Waits up to 10 s for the exit; returns the wait status, or -1 on timeout.
  int WaitExit() {
    for (int i = 0; i < 200; ++i) {
      if (Exited()) return status_;
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  const std::string& sock() const { return sock_; }
  const std::string& pidfile() const { return pidfile_; }
  std::string Log() const { return ReadAll(log_); }

 private:
  std::string dir_, sock_, pidfile_, log_;
  pid_t pid_ = -1;
  int status_ = 0;
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/berthd-it-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    dir_ = dir;
    std::ofstream(dir_ + "/daemon.json")
        << R"({"insecure-registries":["localhost:5000","10.0.0.0/8"]})";
    daemon_ = std::make_unique<Daemon>(dir_);
    daemon_->Start();
    ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
    client_ = std::make_unique<client::Client>(daemon_->sock());
  }
  void TearDown() override {
    daemon_.reset();
    Shell("rm -rf " + dir_);
  }

  // The daemon still answers pings.
  void ExpectAlive() {
    auto r = client_->Get("/_ping");
    ASSERT_TRUE(r) << r.error().message() << daemon_->Log();
    EXPECT_EQ(r->status, 200);
  }

  std::string dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<client::Client> client_;
};

TEST_F(DaemonTest, PingGetAndHead) {
  for (const char* target : {"/_ping", "/v1.41/_ping"}) {
    auto get = client_->Get(target);
    ASSERT_TRUE(get) << get.error().message();
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->body, "OK");
    EXPECT_EQ(get->Header("Api-Version"), "1.41");
    EXPECT_EQ(get->Header("Docker-Experimental"), "false");
    EXPECT_EQ(get->Header("Ostype"), "linux");
    EXPECT_EQ(get->Header("Pragma"), "no-cache");
    EXPECT_NE(get->Header("Cache-Control").find("no-cache"), std::string_view::npos);
    EXPECT_EQ(get->Header("Server").substr(0, 6), "Berth/");

    auto head = client_->Head(target);
    ASSERT_TRUE(head) << head.error().message();
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->Header("Content-Length"), "0");
    EXPECT_EQ(head->Header("Api-Version"), "1.41");
  }
}

TEST_F(DaemonTest, VersionVersionedAndNot) {
  for (const char* target : {"/version", "/v1.41/version", "/v1.24/version", "/v1.38/version"}) {
    auto r = client_->Get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    auto v = api::DecodeSystemVersion(r->body);
    ASSERT_TRUE(v) << r->body;
    EXPECT_EQ(v->api_version, "1.41");
    EXPECT_EQ(v->min_api_version, "1.24");
    EXPECT_EQ(v->os, "linux");
    EXPECT_FALSE(v->kernel_version.empty());
  }
}

TEST_F(DaemonTest, VersionOutOfRangeIs400) {
  auto hi = client_->Get("/v1.99/version");
  ASSERT_TRUE(hi);
  EXPECT_EQ(hi->status, 400);
  EXPECT_EQ(hi->Header("Content-Type"), "application/json");
  EXPECT_EQ(api::DecodeErrorResponse(hi->body)->message,
            "client version 1.99 is too new. Maximum supported API version is 1.41");
  auto lo = client_->Get("/v1.12/version");
  ASSERT_TRUE(lo);
  EXPECT_EQ(lo->status, 400);
  EXPECT_NE(lo->body.find("client version 1.12 is too old. Minimum supported API version is 1.24"),
            std::string::npos);
}

TEST_F(DaemonTest, InfoReportsHostAndConfig) {
  auto body = client_->GetJson("/v1.41/info");
  ASSERT_TRUE(body) << body.error().message();
  auto info = api::DecodeSystemInfo(*body);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->os_type, "linux");
  EXPECT_EQ(info->docker_root_dir, dir_ + "/data");
  EXPECT_GT(info->ncpu, 0);
  EXPECT_FALSE(info->id.empty());
  EXPECT_TRUE(info->cgroup_version == "1" || info->cgroup_version == "2");
  bool found = false;
  for (const auto& ic : info->index_configs) found |= ic.name == "localhost:5000" && !ic.secure;
  EXPECT_TRUE(found) << *body;
}

TEST_F(DaemonTest, UnknownRouteIs404JsonWithExactContentType) {
  auto r = client_->Get("/v1.41/no/such/route");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"message":"page not found"})");
  EXPECT_EQ(r->Header("Api-Version"), "1.41");
}

TEST_F(DaemonTest, HugeBodyIs413AndDaemonStaysUp) {
  std::string reply = RawExchange(daemon_->sock(),
                                  "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Content-Length: 1000000000\r\n\r\n{\"Image\":");
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 413") << reply;
  EXPECT_NE(reply.find("Content-Type: application/json\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("larger than the limit"), std::string::npos) << reply;
  // A chunked body over the limit is caught while it streams in.
  std::string chunk(1 << 20, 'x');
  std::string req = "POST /v1.41/build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  for (int i = 0; i < 70; ++i) req += size_line + chunk + "\r\n";
  reply = RawExchange(daemon_->sock(), req);
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 413") << reply.substr(0, 200);
  ExpectAlive();
}

TEST_F(DaemonTest, MalformedHttpIs400AndDaemonStaysUp) {
  for (const char* junk : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
                           "GET /_ping HTTP/9.9\r\n\r\n"}) {
    std::string reply = RawExchange(daemon_->sock(), junk);
    EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 400") << junk << " -> " << reply;
    EXPECT_NE(reply.find("Content-Type: application/json\r\n"), std::string::npos) << reply;
  }
  // A client that hangs up mid-request costs nothing.
  RawExchange(daemon_->sock(), "GET /_ping HTTP/1.1\r\nHost:");
  ExpectAlive();
}

TEST_F(DaemonTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string reply =
      RawExchange(daemon_->sock(),
                  "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /v1.41/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = reply.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos) << reply;
  EXPECT_NE(reply.find("HTTP/1.1 200", first + 1), std::string::npos) << reply;
}

TEST_F(DaemonTest, DockerCliVersionAndInfo) {
  if (access("/usr/local/bin/docker", X_OK) != 0) GTEST_SKIP() << "no /usr/local/bin/docker";
  std::string env =
      "DOCKER_CONFIG=" + dir_ + "/docker-config DOCKER_HOST=unix://" + daemon_->sock() + " ";
  auto [rc, out] = Shell(env + "/usr/local/bin/docker version");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Server:"), std::string::npos) << out;
  EXPECT_NE(out.find("API version:"), std::string::npos) << out;
  EXPECT_NE(out.find("1.41"), std::string::npos) << out;
  auto [rc2, out2] = Shell(env + "/usr/local/bin/docker info");
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("Server Version"), std::string::npos) << out2;
  EXPECT_NE(out2.find("networking is not implemented"), std::string::npos) << out2;
  ExpectAlive();
}

TEST_F(DaemonTest, DockerPyVersionAndPing) {
  if (Shell(Python() + " -c 'import docker'").first != 0) GTEST_SKIP() << "no docker-py";
  auto [rc, out] =
      Shell(Python() + " -c \"import docker; c = docker.DockerClient(base_url='unix://" +
            daemon_->sock() +
            "'); v = c.version(); assert v['ApiVersion'] == '1.41', v; assert c.ping() is True; "
            "print('API', v['ApiVersion'], c.api.api_version)\"");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("API 1.41 1.41"), std::string::npos) << out;
}

TEST_F(DaemonTest, BerthCli) {
  auto [rc, out] =
      Shell(std::string(BERTH_CLI_PATH) + " -H unix://" + daemon_->sock() + " version");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Server: Berth Engine"), std::string::npos) << out;
  EXPECT_NE(out.find("API version:      1.41 (minimum version 1.24)"), std::string::npos) << out;
  auto [rc2, out2] = Shell("BERTH_HOST=unix://" + daemon_->sock() + " " + BERTH_CLI_PATH + " info");
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("Server Version: "), std::string::npos) << out2;
  EXPECT_NE(out2.find("Cgroup Version: "), std::string::npos) << out2;
  EXPECT_NE(out2.find("WARNING: networking"), std::string::npos) << out2;
  auto [rc3, out3] =
      Shell(std::string(BERTH_CLI_PATH) + " -H unix://" + dir_ + "/nobody.sock version");
  EXPECT_EQ(rc3, 125) << out3;
  EXPECT_NE(out3.find("Cannot connect to the berth daemon at unix://" + dir_ +
                      "/nobody.sock. Is the daemon running?"),
            std::string::npos)
      << out3;
}

TEST_F(DaemonTest, SecondDaemonOnTheSameSocketRefusesToStart) {
  Daemon second(dir_, "second.pid");
  second.Start();
  int st = second.WaitExit();
  ASSERT_NE(st, -1) << "second daemon did not exit";
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
  EXPECT_NE(second.Log().find("another berthd is listening on " + daemon_->sock()),
            std::string::npos)
      << second.Log();
  // The loser must not have removed the winner's socket or pid file.
  EXPECT_TRUE(Exists(daemon_->sock()));
  EXPECT_TRUE(Exists(daemon_->pidfile()));
  EXPECT_FALSE(Exists(second.pidfile()));
  ExpectAlive();
}

TEST_F(DaemonTest, SigtermStopsCleanly) {
  EXPECT_EQ(ReadAll(daemon_->pidfile()), std::to_string(daemon_->pid()) + "\n");
  struct stat st {};
  ASSERT_EQ(stat(daemon_->sock().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  daemon_->Signal(SIGTERM);
  int status = daemon_->WaitExit();
  ASSERT_NE(status, -1) << "berthd ignored SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon_->Log();
  EXPECT_FALSE(Exists(daemon_->sock()));
  EXPECT_FALSE(Exists(daemon_->pidfile()));
}

// systemd's protocols by hand: the listening socket arrives as fd 3 (LISTEN_FDS, -H fd://) and
// readiness goes to $NOTIFY_SOCKET. A python wrapper plays systemd's part in the child.
TEST(SystemdTest, SocketActivationAndReadyNotification) {
  char tmp[] = "/tmp/berthd-sd-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmp));
  std::string dir = tmp, sock = dir + "/act.sock", notify = dir + "/notify.sock";
  int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, notify.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(nfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{10, 0};
  setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::ofstream(dir + "/daemon.json") << "{}";
  std::string py =
      "import os, socket, sys\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
      "s.bind(sys.argv[1]); s.listen(16)\n"
      "if s.fileno() != 3: os.dup2(s.fileno(), 3)\n"
      "os.set_inheritable(3, True)\n"
      "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1')\n"
      "os.execv(sys.argv[2], sys.argv[2:])\n";
  std::ofstream(dir + "/activate.py") << py;
  std::string cmd = "NOTIFY_SOCKET=" + notify + " " + Python() + " " + dir + "/activate.py " +
                    sock + " " + BERTHD_PATH + " -H fd:// --data-root " + dir +
                    "/data --exec-root " + dir + "/exec --pidfile " + dir +
                    "/p.pid --config-file " + dir + "/daemon.json >/dev/null 2>" + dir +
                    "/log & echo $!";
  auto [rc, pid_text] = Shell(cmd);
  ASSERT_EQ(rc, 0);
  pid_t pid = std::stoi(pid_text);
  char buf[256] = {};
  ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);
  EXPECT_GT(n, 0) << ReadAll(dir + "/log");
  EXPECT_EQ(std::string(buf).substr(0, 8), "READY=1\n");
  client::Client c(sock);
  auto r = c.Get("/_ping");
  ASSERT_TRUE(r) << r.error().message() << ReadAll(dir + "/log");
  EXPECT_EQ(r->status, 200);
  kill(pid, SIGTERM);
  n = recv(nfd, buf, sizeof(buf) - 1, 0);
  buf[n > 0 ? n : 0] = 0;
  EXPECT_EQ(std::string(buf), "STOPPING=1");
  for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_NE(kill(pid, 0), 0) << "berthd did not stop";
  close(nfd);
  Shell("rm -rf " + dir);
}

TEST_F(DaemonTest, StaleSocketIsReplaced) {
  daemon_->Signal(SIGKILL);
  ASSERT_NE(daemon_->WaitExit(), -1);
  ASSERT_TRUE(Exists(daemon_->sock()));  // SIGKILL leaves it behind
  Daemon again(dir_);
  again.Start();
  EXPECT_TRUE(again.WaitReady()) << again.Log();
}

}  // namespace
}  // namespace berth
