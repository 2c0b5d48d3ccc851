// Tests of the client's address and TLS resolution (docker's -H, --tls*, DOCKER_* variables).
#include "client/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/transport.h"

namespace berth::client {
namespace {

// Clears the variables ResolveEndpoint reads, and restores them after the test.
class ResolveEndpointTest : public ::testing::Test {
 protected:
  static constexpr const char* kVars[] = {
      "BERTH_HOST",       "DOCKER_HOST",   "DOCKER_TLS", "DOCKER_TLS_VERIFY",
      "DOCKER_CERT_PATH", "DOCKER_CONFIG", "HOME"};
  void SetUp() override {
    for (const char* v : kVars) {
      if (const char* old = getenv(v)) saved_.emplace_back(v, old);
      unsetenv(v);
    }
    char dir[] = "/tmp/berth-client-test-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* v : kVars) unsetenv(v);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
    std::filesystem::remove_all(dir_);
  }
  std::vector<std::pair<std::string, std::string>> saved_;
  std::string dir_;
};

TEST(ParseEndpointTest, UnixAndTcpForms) {
  auto u = ParseEndpoint("unix:///run/x.sock", std::nullopt);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tcp);
  EXPECT_EQ(u->socket_path, "/run/x.sock");
  EXPECT_EQ(ParseEndpoint("/run/y.sock", std::nullopt)->address, "unix:///run/y.sock");

  auto t = ParseEndpoint("tcp://127.0.0.1:1234", std::nullopt);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tcp);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 1234);
  EXPECT_FALSE(t->tls);

  EXPECT_EQ(ParseEndpoint("tcp://example.com", std::nullopt)->port, 2375);
  EXPECT_EQ(ParseEndpoint("tcp://example.com", TlsOptions{})->port, 2376);
  EXPECT_EQ(ParseEndpoint("tcp://:2000/", std::nullopt)->host, "localhost");
  auto v6 = ParseEndpoint("tcp://[::1]:99", std::nullopt);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 99);

  // TLS options are kept for tcp:// and ignored for unix://, as docker does.
  EXPECT_TRUE(ParseEndpoint("tcp://h:1", TlsOptions{})->tls);
  EXPECT_FALSE(ParseEndpoint("unix:///x", TlsOptions{})->tls);

  for (const char* bad : {"ssh://host", "tcp://h:0", "tcp://h:70000", "tcp://h:x", "tcp://::1:2",
                          "tcp://h:1/path", "http://h:1"}) {
    auto r = ParseEndpoint(bad, std::nullopt);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), base::ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(ResolveEndpointTest, FlagThenBerthHostThenDockerHostThenDefault) {
  EXPECT_EQ(ResolveEndpoint({})->address, std::string(kDefaultHost));
  setenv("DOCKER_HOST", "ssh://elsewhere", 1);  // docker's alone: ignored
  EXPECT_EQ(ResolveEndpoint({})->address, std::string(kDefaultHost));
  setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
  EXPECT_EQ(ResolveEndpoint({})->host, "10.0.0.1");
  setenv("BERTH_HOST", "unix:///b.sock", 1);
  EXPECT_EQ(ResolveEndpoint({})->socket_path, "/b.sock");
  HostFlags f;
  f.host = "unix:///flag.sock";
  EXPECT_EQ(ResolveEndpoint(f)->socket_path, "/flag.sock");
}

TEST_F(ResolveEndpointTest, TlsFromFlagsAndEnvironment) {
  HostFlags f;
  f.host = "tcp://127.0.0.1:2376";
  EXPECT_FALSE(ResolveEndpoint(f)->tls);

  // --tlsverify: the files default to ~/.docker; absent default client files are left out.
  setenv("HOME", dir_.c_str(), 1);
  f.tls_verify = true;
  auto e = ResolveEndpoint(f);
  ASSERT_TRUE(e && e->tls);
  EXPECT_TRUE(e->tls->verify);
  EXPECT_EQ(e->tls->ca_cert, dir_ + "/.docker/ca.pem");
  EXPECT_EQ(e->tls->cert, "");
  EXPECT_EQ(e->tls->key, "");

  // DOCKER_CERT_PATH with existing files, as `docker-machine env` sets it up.
  std::ofstream(dir_ + "/cert.pem") << "x";
  std::ofstream(dir_ + "/key.pem") << "x";
  setenv("DOCKER_CERT_PATH", dir_.c_str(), 1);
  e = ResolveEndpoint(f);
  EXPECT_EQ(e->tls->ca_cert, dir_ + "/ca.pem");
  EXPECT_EQ(e->tls->cert, dir_ + "/cert.pem");
  EXPECT_EQ(e->tls->key, dir_ + "/key.pem");

  // Explicit files win; --tls alone does not verify.
  f.tls_verify.reset();
  f.tls = true;
  f.tls_ca_cert = "/c/ca.pem";
  f.tls_cert = "/c/cert.pem";
  f.tls_key = "/c/key.pem";
  e = ResolveEndpoint(f);
  EXPECT_FALSE(e->tls->verify);
  EXPECT_EQ(e->tls->ca_cert, "/c/ca.pem");
  EXPECT_EQ(e->tls->cert, "/c/cert.pem");

  // DOCKER_TLS_VERIFY turns on verification unless --tlsverify=false says otherwise.
  HostFlags g;
  g.host = "tcp://h:1";
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  EXPECT_TRUE(ResolveEndpoint(g)->tls->verify);
  g.tls_verify = false;
  EXPECT_FALSE(ResolveEndpoint(g)->tls);
}

}  // namespace
}  // namespace berth::client

namespace berth::client {
namespace {

// A loopback listener that never accepts: completed connections wait in its queue, and once
// the queue is full the kernel drops further SYNs, so a connect hangs as on a filtered port.
struct SilentListener {
  int fd = -1;
  uint16_t port = 0;
  std::vector<int> fillers;
  explicit SilentListener(int backlog) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd, backlog);
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  // Connections that fill the accept queue (non-blocking: the last ones may never complete).
  void Fill(int n) {
    for (int i = 0; i < n; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      fillers.push_back(c);
    }
    usleep(50000);
  }
  ~SilentListener() {
    for (int c : fillers) close(c);
    close(fd);
  }
};

Endpoint Tcp(uint16_t port) {
  Endpoint ep;
  ep.tcp = true;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.address = "tcp://127.0.0.1:" + std::to_string(port);
  return ep;
}

TEST(DialTimeoutTest, AConnectThatHangsFailsAfterTheConnectTimeout) {
  SilentListener l(0);
  l.Fill(4);
  Endpoint ep = Tcp(l.port);
  ep.connect_timeout = std::chrono::milliseconds(300);
  auto t0 = std::chrono::steady_clock::now();
  auto d = Dial(ep);
  ASSERT_FALSE(d) << "connected to a full accept queue";
  EXPECT_EQ(d.error().code(), base::ErrorCode::kUnavailable);
  EXPECT_NE(d.error().message().find("timeout"), std::string::npos) << d.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST(DialTimeoutTest, AServerThatNeverAnswersTheHandshakeFailsAfterTheHandshakeTimeout) {
  SilentListener l(16);
  Endpoint ep = Tcp(l.port);
  ep.tls = TlsOptions{};
  ep.tls->verify = false;
  ep.handshake_timeout = std::chrono::milliseconds(300);
  auto t0 = std::chrono::steady_clock::now();
  auto d = Dial(ep);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), base::ErrorCode::kUnavailable);
  EXPECT_NE(d.error().message().find("TLS handshake"), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("timeout"), std::string::npos) << d.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

// A unix-socket server that accepts two connections and reads both request heads before it
// answers either: the client's two requests must be in flight together.
TEST(PendingRequestTest, TwoRequestsInFlightTogether) {
  std::string dir = std::filesystem::temp_directory_path() / "berth-client-pending-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/s.sock";
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 4), 0);
  // Accepts one connection and reads its request head.
  auto accept_head = [l](std::string& head) {
    int fd = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    char ch;
    while (head.find("\r\n\r\n") == std::string::npos && read(fd, &ch, 1) == 1) head += ch;
    return fd;
  };
  const std::string missing =
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n"
      "{\"message\":\"No such container: x\"}";
  std::vector<std::string> heads(2);
  std::thread server([&] {
    int c[2];
    for (size_t i = 0; i < 2; ++i) c[i] = accept_head(heads[i]);
    std::string up =
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nstream";
    std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    for (size_t i = 0; i < 2; ++i) {
      bool hijack = heads[i].find("Upgrade: tcp") != std::string::npos;
      bool wait = heads[i].find("/wait") != std::string::npos;
      const std::string& answer = hijack ? up : wait ? ok : missing;
      (void)!write(c[i], answer.data(), answer.size());
      close(c[i]);
    }
  });
  Client client(path);
  auto attach = client.SendHijack("POST", "/containers/x/attach?stream=1");
  auto wait = client.SendOpen("POST", "/containers/x/wait");
  ASSERT_TRUE(attach && wait);
  auto stream = attach->Finish();
  ASSERT_TRUE(stream) << stream.error().message();
  EXPECT_EQ(stream->head().status, 101);
  auto waited = wait->Finish();
  ASSERT_TRUE(waited) << waited.error().message();
  EXPECT_EQ(waited->head().status, 200);
  EXPECT_EQ(waited->ReadBody().value_or(""), "{}");
  EXPECT_FALSE(wait->Finish());
  server.join();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_NE(heads[0].find("POST /containers/x/attach?stream=1 HTTP/1.1"), std::string::npos);
  EXPECT_NE(heads[1].find("Connection: close"), std::string::npos);

  // A hijack the daemon refuses is its error message.
  std::thread refuse([&] {
    std::string head;
    int fd = accept_head(head);
    (void)!write(fd, missing.data(), missing.size());
    close(fd);
  });
  auto refused = client.SendHijack("POST", "/containers/x/attach");
  ASSERT_TRUE(refused);
  auto r = refused->Finish();
  refuse.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "No such container: x");
  close(l);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::client
