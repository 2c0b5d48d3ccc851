// Integration tests of berthd on TCP with TLS client-certificate verification (dockerd's
// --tlsverify): certificates made with openssl(1) in the test's directory, the real berthd
// listening on a unix socket and on 127.0.0.1, driven by the docker CLI, the berth CLI and curl.
// Covers the hijacked streams (run -i, exec -i) that berthd relays through TLS, clients that
// must be refused (no certificate, another CA's, plain HTTP, a silent one), and the refusal to
// start a TCP listener without --tlsverify. Needs root (overlay mounts, namespaces).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "berthd_fixture.h"
#include "client/client.h"
#include "test_support.h"

namespace berth {
namespace {
using test_support::ReadAll;
using test_support::Shell;
using test_support::Spawn;

// A CA, a server certificate for IP 127.0.0.1 and a client certificate signed by it, and a
// client certificate of another CA ("rogue"), as EC P-256 keys.
constexpr const char* kMakeCerts = R"(set -e
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { key "$1-key.pem"; openssl req -x509 -new -key "$1-key.pem" -out "$1.pem" -days 2 -subj "/CN=$1"; }
leaf() {
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$1"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -CAcreateserial \
    -out "$1-cert.pem" -days 2 -extfile "$1.ext"
}
ca ca
ca otherca
leaf server ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue otherca "extendedKeyUsage=clientAuth"
)";

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool Have(const std::string& tool) { return Shell("command -v " + tool).first == 0; }

class DaemonTlsTest : public test_support::BerthdFixture {
 protected:
  DaemonTlsTest() : BerthdFixture("/tmp/btl-", true) {}

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (overlay mounts, namespaces)";
    if (!Have("openssl") || !Have("curl")) GTEST_SKIP() << "needs openssl and curl";
    char templ[] = "/tmp/btl-certs-XXXXXX";
    ASSERT_TRUE(mkdtemp(templ));
    certs_ = templ;
    std::ofstream(certs_ + "/make.sh") << kMakeCerts;
    auto [rc, out] = Shell("sh " + certs_ + "/make.sh " + certs_);
    ASSERT_EQ(rc, 0) << out;
    port_ = FreePort();
    ASSERT_GT(port_, 0);
    addr_ = "tcp://127.0.0.1:" + std::to_string(port_);
    extra_daemon_args_ = {"-H", addr_, "--tlsverify", "--tlscacert", Cert("ca")};
    extra_daemon_args_.insert(extra_daemon_args_.end(),
                              {"--tlscert", Cert("server-cert"), "--tlskey", Cert("server-key")});
    BerthdFixture::SetUp();
  }

  void TearDown() override {
    BerthdFixture::TearDown();
    if (!certs_.empty()) std::filesystem::remove_all(certs_);
  }

  std::string Cert(const std::string& name) { return certs_ + "/" + name + ".pem"; }
  // docker/berth global flags for TLS with the client certificate of `who` ("client", "rogue").
  std::string TlsFlags(const std::string& who = "client") {
    return "-H " + addr_ + " --tlsverify --tlscacert " + Cert("ca") + " --tlscert " +
           Cert(who + "-cert") + " --tlskey " + Cert(who + "-key") + " ";
  }
  std::pair<int, std::string> Berth(const std::string& args) {
    return Shell(env_ + BERTH_CLI_PATH + " " + args);
  }
  // The daemon answers on both of its sockets.
  void ExpectDaemonUp() {
    ASSERT_EQ(kill(pid_, 0), 0) << "berthd died" << Log();
    auto r = client_->Get("/_ping");
    EXPECT_TRUE(r && r->status == 200) << Log();
    auto [rc, out] = Docker(TlsFlags() + "version --format '{{.Server.Version}}'");
    EXPECT_EQ(rc, 0) << out << Log();
  }

  std::string certs_, addr_;
  int port_ = -1;
};

TEST_F(DaemonTlsTest, DockerCliWithClientCertificate) {
  auto [rc, out] = Docker(TlsFlags() + "version");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("Berth Engine"), std::string::npos) << out;

  std::tie(rc, out) = Docker(TlsFlags() + "run --rm busybox echo hi");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "hi\n");

  // Hijacked attach with stdin: the relay carries it in, its EOF, and the output back.
  std::tie(rc, out) = Shell("printf 'one\\ntwo\\n' | " + env_ + test_support::kDockerCli + " " +
                            TlsFlags() + "run -i --rm busybox sh -c 'cat; echo done'");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "one\ntwo\ndone\n");

  // A larger stdin, so that it crosses many TLS records and socket buffers both ways.
  std::string big = certs_ + "/big.txt";
  ASSERT_EQ(Shell("head -c 1000000 /dev/urandom | base64 > " + big).first, 0);
  std::tie(rc, out) = Shell(env_ + test_support::kDockerCli + " " + TlsFlags() +
                            "run -i --rm busybox cat < " + big + " | cmp - " + big);
  EXPECT_EQ(rc, 0) << out << Log();

  // exec -i and an exit status.
  std::tie(rc, out) = Docker(TlsFlags() + "run -d --name sleeper busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) = Shell("echo piped | " + env_ + test_support::kDockerCli + " " + TlsFlags() +
                            "exec -i sleeper cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "piped\n");
  std::tie(rc, out) = Docker(TlsFlags() + "exec sleeper sh -c 'exit 3'");
  EXPECT_EQ(rc, 3) << out << Log();

  // DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_HOST instead of flags.
  std::string env_certs = certs_ + "/env";
  std::filesystem::create_directories(env_certs);
  std::filesystem::copy_file(Cert("ca"), env_certs + "/ca.pem");
  std::filesystem::copy_file(Cert("client-cert"), env_certs + "/cert.pem");
  std::filesystem::copy_file(Cert("client-key"), env_certs + "/key.pem");
  std::tie(rc, out) =
      Shell(env_ + "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=" + env_certs + " DOCKER_HOST=" + addr_ +
            " " + test_support::kDockerCli + " version --format '{{.Server.Version}}'");
  EXPECT_EQ(rc, 0) << out << Log();
}

TEST_F(DaemonTlsTest, BerthCliWithClientCertificate) {
  auto [rc, out] = Berth(TlsFlags() + "version");
  ASSERT_EQ(rc, 0) << out << Log();
  EXPECT_NE(out.find("Berth Engine"), std::string::npos) << out;

  std::tie(rc, out) = Berth(TlsFlags() + "run --rm busybox sh -c 'echo from-berth; exit 4'");
  EXPECT_EQ(rc, 4) << out << Log();
  EXPECT_EQ(out, "from-berth\n");

  std::tie(rc, out) = Shell("printf 'in\\n' | " + env_ + BERTH_CLI_PATH + " " + TlsFlags() +
                            "run -i --rm busybox cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "in\n");

  std::tie(rc, out) = Berth(TlsFlags() + "run -d --name sleeper busybox sleep 1000");
  ASSERT_EQ(rc, 0) << out << Log();
  std::tie(rc, out) =
      Shell("echo piped | " + env_ + BERTH_CLI_PATH + " " + TlsFlags() + "exec -i sleeper cat");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "piped\n");

  // BERTH_HOST plus docker's variables; DOCKER_HOST (unix) from the fixture must not win.
  std::string env_certs = certs_ + "/env";
  std::filesystem::create_directories(env_certs);
  std::filesystem::copy_file(Cert("ca"), env_certs + "/ca.pem");
  std::filesystem::copy_file(Cert("client-cert"), env_certs + "/cert.pem");
  std::filesystem::copy_file(Cert("client-key"), env_certs + "/key.pem");
  std::tie(rc, out) =
      Shell(env_ + "BERTH_HOST=" + addr_ + " DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=" + env_certs +
            " " + BERTH_CLI_PATH + " ps -a --format '{{.Names}}'");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "sleeper\n");

  // The berth client library, as the tests and tools use it.
  client::TlsOptions tls;
  tls.ca_cert = Cert("ca");
  tls.cert = Cert("client-cert");
  tls.key = Cert("client-key");
  auto ep = client::ParseEndpoint(addr_, tls);
  ASSERT_TRUE(ep) << ep.error().message();
  client::Client c(*ep);
  auto r = c.Get("/_ping");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
}

TEST_F(DaemonTlsTest, ClientsWithoutAValidCertificateAreRefused) {
  // A silent client holds a connection in the handshake; others are served meanwhile.
  int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  ASSERT_EQ(connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

  // No client certificate.
  auto [rc, out] = Shell("curl -sS --cacert " + Cert("ca") +
                         " https://127.0.0.1:" + std::to_string(port_) + "/_ping");
  EXPECT_NE(rc, 0) << out;
  EXPECT_EQ(out.find("OK"), std::string::npos) << out;
  // The same with the right certificate, to show that the refusal is about the certificate.
  std::tie(rc, out) =
      Shell("curl -sS --cacert " + Cert("ca") + " --cert " + Cert("client-cert") + " --key " +
            Cert("client-key") + " https://127.0.0.1:" + std::to_string(port_) + "/_ping");
  EXPECT_EQ(rc, 0) << out << Log();
  EXPECT_EQ(out, "OK");
  // A certificate of another CA.
  std::tie(rc, out) =
      Shell("curl -sS --cacert " + Cert("ca") + " --cert " + Cert("rogue-cert") + " --key " +
            Cert("rogue-key") + " https://127.0.0.1:" + std::to_string(port_) + "/_ping");
  EXPECT_NE(rc, 0) << out;
  std::tie(rc, out) = Docker(TlsFlags("rogue") + "version");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("tls"), std::string::npos) << out;
  // Plain HTTP on the TLS port.
  std::tie(rc, out) = Shell("curl -sS -m 30 http://127.0.0.1:" + std::to_string(port_) + "/_ping");
  EXPECT_NE(rc, 0) << out;
  EXPECT_EQ(out.find("OK"), std::string::npos) << out;
  // docker without any TLS flags.
  std::tie(rc, out) = Docker("-H " + addr_ + " version");
  EXPECT_NE(rc, 0) << out;

  // The berth CLI: no certificate, another CA's, a daemon certificate it cannot verify.
  std::tie(rc, out) = Berth("-H " + addr_ + " --tlsverify --tlscacert " + Cert("ca") + " version");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("error during connect"), std::string::npos) << out;
  std::tie(rc, out) = Berth(TlsFlags("rogue") + "version");
  EXPECT_EQ(rc, 125) << out;
  std::tie(rc, out) =
      Berth("-H " + addr_ + " --tlsverify --tlscacert " + Cert("otherca") + " --tlscert " +
            Cert("client-cert") + " --tlskey " + Cert("client-key") + " version");
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("certificate verify failed"), std::string::npos) << out;

  ExpectDaemonUp();
  close(silent);
  ExpectDaemonUp();
  std::string log = ReadAll(dir_ + "/berthd.log");
  EXPECT_NE(log.find("TLS handshake with 127.0.0.1"), std::string::npos) << log;
}

// Start-up checks: no root needed, berthd stops before touching anything.
TEST(DaemonTlsStartupTest, TcpWithoutTlsVerifyIsRefused) {
  char templ[] = "/tmp/btl-start-XXXXXX";
  ASSERT_TRUE(mkdtemp(templ));
  std::string dir = templ;
  std::ofstream(dir + "/daemon.json") << "{}";
  std::string common = " --data-root " + dir + "/d --exec-root " + dir + "/e --pidfile " + dir +
                       "/p.pid --config-file " + dir + "/daemon.json";
  std::string addr = "tcp://127.0.0.1:" + std::to_string(FreePort());

  auto [rc, out] =
      Shell(std::string(BERTHD_PATH) + " -H unix://" + dir + "/s.sock -H " + addr + common);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("refusing to listen on " + addr), std::string::npos) << out;
  EXPECT_NE(out.find("--tlsverify"), std::string::npos) << out;

  // --tls alone (no client verification) is not enough either, nor is daemon.json's "tls".
  std::tie(rc, out) = Shell(std::string(BERTHD_PATH) + " -H " + addr + " --tls" + common);
  EXPECT_EQ(rc, 1) << out;
  std::ofstream(dir + "/daemon.json") << R"({"hosts":[")" << addr << R"("],"tls":true})";
  std::tie(rc, out) = Shell(std::string(BERTHD_PATH) + common);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("refusing to listen"), std::string::npos) << out;

  // --tlsverify with files that do not exist: named in the error, nothing left behind.
  std::ofstream(dir + "/daemon.json") << "{}";
  std::tie(rc, out) = Shell(std::string(BERTHD_PATH) + " -H unix://" + dir + "/s.sock -H " + addr +
                            " --tlsverify --tlscacert " + dir + "/missing-ca.pem" + common);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find(dir + "/missing-ca.pem"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/s.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/p.pid"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth
