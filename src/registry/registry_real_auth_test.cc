// The registry client against Debian's docker-registry (distribution 2.8) in the two set-ups a
// plain loopback registry does not show: HTTPS with a private CA trusted through a certs.d
// directory (<certs.d>/<host:port>/ca.crt, as Docker lays it out), and token auth, where the
// registry only accepts JWTs (RS256, signed by a key whose certificate is in the registry's
// rootcertbundle) minted by a token issuer that this test runs itself on a FakeServer.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "registry/blob_io.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/fake_server.h"
#include "registry/registry_process.h"
#include "test_support.h"

namespace berth::registry {
namespace {
using base::ErrorCode;
using fakes::FakeRequest;
using fakes::FakeResponse;
using fakes::FakeServer;
using nlohmann::json;
using test_support::DescriptorJson;
using test_support::MakeBlob;
using testing_registry::FastOptions;
using testing_registry::kRegistryBinary;
using testing_registry::RegistryProcess;
using testing_registry::RunCommand;
namespace fs = std::filesystem;

// Pushes a one-layer image as repo:tag and resolves it back; the manifest digest.
oci::Digest PushAndResolve(Client& client, const Repository& repo, const std::string& tag) {
  auto layer = MakeBlob(std::string(4000, 'l') + repo.path, oci::media::kOciLayerGzip);
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.desc.digest.ToString()}}}}};
  auto cfg = MakeBlob(config.dump(), oci::media::kOciConfig);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", oci::media::kOciManifest},
                   {"config", DescriptorJson(cfg.desc)},
                   {"layers", {DescriptorJson(layer.desc)}}};
  auto man = MakeBlob(manifest.dump(), oci::media::kOciManifest);
  for (const auto* b : {&layer, &cfg}) {
    StringSource source(b->bytes);
    auto s = client.PushBlob(repo, b->desc, source);
    EXPECT_TRUE(s) << s.error().message();
  }
  auto pushed = client.PushManifest(repo, tag, oci::media::kOciManifest, man.bytes);
  EXPECT_TRUE(pushed) << pushed.error().message();
  auto ref = oci::ParseReference(repo.Name() + ":" + tag);
  EXPECT_TRUE(ref);
  auto resolved = client.Resolve(*ref);
  EXPECT_TRUE(resolved) << resolved.error().message();
  if (resolved) {
    EXPECT_EQ(resolved->digest, man.desc.digest);
  }
  StringSink sink;
  auto fetched = client.FetchBlob(repo, layer.desc, sink);
  EXPECT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(sink.data(), layer.bytes);
  return man.desc.digest;
}

// A scratch directory with keys and certificates made by the openssl command.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/berth-pki-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  ~Pki() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  const std::string& dir() const { return dir_; }
  // Runs an openssl command line in dir(); "" on success, else its output.
  std::string Run(const std::string& args) {
    int status = 0;
    std::string out = RunCommand("cd '" + dir_ + "' && openssl " + args + " 2>&1", &status);
    return status == 0 ? "" : "openssl " + args + ": " + out;
  }
  // A self-signed certificate and its key: NAME.crt, NAME.key.
  std::string SelfSigned(const std::string& name, const std::string& cn) {
    return Run("req -x509 -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
               ".crt -subj /CN=" + cn + " -days 2");
  }
  // NAME.crt/.key for 127.0.0.1, signed by the CA CA.crt/.key.
  std::string ServerCert(const std::string& name, const std::string& ca) {
    std::ofstream(dir_ + "/san.ext") << "subjectAltName=IP:127.0.0.1\n";
    if (auto e = Run("req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                     ".csr -subj /CN=127.0.0.1");
        !e.empty())
      return e;
    return Run("x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
               ".key -CAcreateserial -out " + name + ".crt -days 2 -extfile san.ext");
  }
  std::string Read(const std::string& file) const {
    std::ifstream in(dir_ + "/" + file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string dir_;
};

bool HaveTools() {
  return access(kRegistryBinary, X_OK) == 0 && access("/usr/bin/openssl", X_OK) == 0;
}

TEST(RealRegistryTlsTest, PrivateCaFromCertsDir) {
  if (!HaveTools()) GTEST_SKIP() << "docker-registry or openssl is not installed";
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_EQ(pki.SelfSigned("ca", "berth-test-ca"), "");
  ASSERT_EQ(pki.ServerCert("server", "ca"), "");
  std::string error;
  auto reg = RegistryProcess::Start("", &error,
                                    "  tls:\n    certificate: " + pki.dir() +
                                        "/server.crt\n    key: " + pki.dir() + "/server.key\n");
  ASSERT_NE(reg, nullptr) << error;
  std::string domain = reg->domain();
  // Loopback registries are plain HTTP by default: this one is configured as TLS.
  HostConfig tls;
  tls.insecure = false;

  // Without the CA: a TLS trust failure, reported as such.
  RegistryHosts untrusting;
  untrusting.Set(domain, tls);
  Client stranger(FastOptions(&untrusting));
  auto refused = stranger.Ping(domain);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied) << refused.error().message();

  // With certs.d/<host:port>/ca.crt, as `docker` reads /etc/docker/certs.d.
  std::string certs_d = pki.dir() + "/certs.d";
  fs::create_directories(certs_d + "/" + domain);
  fs::copy_file(pki.dir() + "/ca.crt", certs_d + "/" + domain + "/ca.crt");
  RegistryHosts::Options with_certs;
  with_certs.certs_dir = certs_d;
  RegistryHosts trusting(with_certs);
  trusting.Set(domain, tls);
  Client client(FastOptions(&trusting));
  auto ping = client.Ping(domain);
  ASSERT_TRUE(ping) << ping.error().message();
  PushAndResolve(client, Repository{domain, "berth/tls"}, "v1");

  // The plain-HTTP default for loopback cannot talk to it.
  RegistryHosts plain;
  Client http(FastOptions(&plain));
  EXPECT_FALSE(http.Ping(domain));
}

std::string Base64Url(std::string_view data) {
  std::string s = Base64Encode(data);
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::string SignRs256(const std::string& key_pem, const std::string& data) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), int(key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
    return "";
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) return "";
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1)
    return "";
  sig.resize(len);
  return sig;
}

std::string QueryUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// The token issuer: grants `pull` to anyone and `push` too to bob:pw (Basic auth on the token
// request, as registries' token servers take credentials); wrong credentials get a 401.
class TokenIssuer {
 public:
  TokenIssuer(std::string key_pem, std::string cert_pem)
      : key_pem_(std::move(key_pem)), server_([this](const FakeRequest& r) { return Handle(r); }) {
    // x5c carries the signing certificate (base64 DER: the PEM body without its armour).
    for (std::string_view line : base::Split(cert_pem, '\n'))
      if (!line.empty() && line.find("-----") == std::string_view::npos) cert_der_b64_ += line;
  }
  std::string realm() const { return server_.url() + "/token"; }
  bool ok() const { return server_.ok(); }
  int Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  FakeResponse Handle(const FakeRequest& r) {
    if (r.path != "/token") return {404, {}, ""};
    {
      std::lock_guard lock(mu_);
      ++requests_;
    }
    std::string auth = r.Header("authorization");
    bool pusher = auth == "Basic " + Base64Encode("bob:pw");
    if (!auth.empty() && !pusher)
      return {401, {}, R"({"details":"incorrect username or password"})"};
    json access = json::array();
    for (std::string_view part : base::Split(r.query, '&')) {
      if (!part.starts_with("scope=")) continue;
      std::string scope = QueryUnescape(part.substr(6));  // repository:NAME:ACTIONS
      size_t a = scope.find(':'), b = scope.rfind(':');
      if (a == std::string::npos || b == a) continue;
      json actions = json::array();
      for (std::string_view act : base::Split(scope.substr(b + 1), ','))
        if (act == "pull" || (act == "push" && pusher)) actions.push_back(std::string(act));
      access.push_back({{"type", scope.substr(0, a)},
                        {"name", scope.substr(a + 1, b - a - 1)},
                        {"actions", actions}});
    }
    int64_t now = time(nullptr);
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {cert_der_b64_}}};
    json claims = {{"iss", "berth-test-issuer"},
                   {"sub", pusher ? "bob" : ""},
                   {"aud", "berth-test"},
                   {"exp", now + 300},
                   {"nbf", now - 10},
                   {"iat", now},
                   {"jti", std::to_string(now) + "-" + std::to_string(Requests())},
                   {"access", access}};
    std::string signing = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
    std::string token = signing + "." + Base64Url(SignRs256(key_pem_, signing));
    return {200,
            {{"Content-Type", "application/json"}},
            json{{"token", token}, {"access_token", token}, {"expires_in", 300}}.dump()};
  }

  std::string key_pem_;
  std::string cert_der_b64_;
  mutable std::mutex mu_;
  int requests_ = 0;
  FakeServer server_;
};

TEST(RealRegistryTokenTest, BearerTokensFromAnIssuer) {
  if (!HaveTools()) GTEST_SKIP() << "docker-registry or openssl is not installed";
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_EQ(pki.SelfSigned("token", "berth-test-token-signer"), "");
  TokenIssuer issuer(pki.Read("token.key"), pki.Read("token.crt"));
  ASSERT_TRUE(issuer.ok());
  std::string error;
  auto reg = RegistryProcess::Start("", &error, "",
                                    "auth:\n  token:\n    realm: " + issuer.realm() +
                                        "\n    service: berth-test\n    issuer: berth-test-issuer\n"
                                        "    rootcertbundle: " +
                                        pki.dir() + "/token.crt\n");
  ASSERT_NE(reg, nullptr) << error;
  std::string domain = reg->domain();
  RegistryHosts hosts;

  // Anonymous: a pull token is granted, a push is refused by the registry.
  Client anonymous(FastOptions(&hosts));
  auto ping = anonymous.Ping(domain);
  ASSERT_TRUE(ping) << ping.error().message();
  auto blob = MakeBlob("anonymous bytes", oci::media::kOciLayerGzip);
  StringSource source(blob.bytes);
  auto denied = anonymous.PushBlob(Repository{domain, "berth/tok"}, blob.desc, source);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied) << denied.error().message();

  // Wrong credentials: the issuer's 401 is a login failure.
  Client bad(FastOptions(&hosts));
  auto wrong = bad.Login(domain, "bob", "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPermissionDenied) << wrong.error().message();

  // bob pushes (tokens with push) and pulls back what he pushed.
  StaticCredentials creds;
  creds.Add(domain, Credentials{"bob", "pw"});
  Client bob(FastOptions(&hosts, &creds));
  int before = issuer.Requests();
  oci::Digest digest = PushAndResolve(bob, Repository{domain, "berth/tok"}, "v1");
  // Tokens are cached per scope: a whole push and pull is a handful of token requests, not one
  // per registry request.
  EXPECT_GT(issuer.Requests(), before);
  EXPECT_LE(issuer.Requests() - before, 4);

  // Anyone may pull it now.
  Client reader(FastOptions(&hosts));
  auto ref = oci::ParseReference(domain + "/berth/tok:v1");
  ASSERT_TRUE(ref);
  auto resolved = reader.Resolve(*ref);
  ASSERT_TRUE(resolved) << resolved.error().message();
  EXPECT_EQ(resolved->digest, digest);
}

}  // namespace
}  // namespace berth::registry
