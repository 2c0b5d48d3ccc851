// Unit tests for the pure parts of berth_registry: challenges, token answers, scopes, base64,
// Docker config credentials, host settings, and error mapping.
#include "registry/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "registry/credentials.h"
#include "registry/errors.h"
#include "registry/hosts.h"

namespace berth::registry {
namespace {

using base::ErrorCode;

TEST(ParseChallengesTest, BearerWithQuotedCommas) {
  auto cs =
      ParseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:samalba/my-app:pull,push")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].Param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].Param("scope"), "repository:samalba/my-app:pull,push");
}

TEST(ParseChallengesTest, SeveralChallengesSpacesAndEscapes) {
  auto cs = ParseChallenges(
      R"(Basic realm="Registry \"R\", here" , BEARER Realm = "http://a/t", error="invalid_token")");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].Param("realm"), R"(Registry "R", here)");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].Param("realm"), "http://a/t");
  EXPECT_EQ(cs[1].Param("error"), "invalid_token");
}

TEST(ParseChallengesTest, JunkNeverCrashes) {
  for (const char* s : {"", ",,,", "=", "\"", "Bearer realm=\"unterminated", "Bearer ==,=\"x\"",
                        "Basic", "  Bearer realm", "a=b c=d", "Bearer realm=x,,scope"}) {
    (void)ParseChallenges(s);
  }
  auto cs = ParseChallenges("Basic");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_TRUE(cs[0].params.empty());
  cs = ParseChallenges("Bearer realm=http://x/token,service=reg");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].Param("realm"), "http://x/token");
  EXPECT_EQ(cs[0].Param("service"), "reg");
}

TEST(ParseTokenResponseTest, TokenOrAccessToken) {
  auto t = ParseTokenResponse(R"({"token":"abc","expires_in":300})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in_s, 300);
  t = ParseTokenResponse(R"({"access_token":"xyz"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "xyz");
  EXPECT_EQ(t->expires_in_s, 60);
  for (const char* junk : {"", "[]", "{\"token\":5}", "{\"token\":\"\"}", "<html>", "{"}) {
    auto r = ParseTokenResponse(junk);
    ASSERT_FALSE(r) << junk;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ScopesTest, MergeAndFormat) {
  EXPECT_EQ(RepositoryScope("library/busybox", "pull"), "repository:library/busybox:pull");
  auto merged = MergeScopes({"repository:a/b:push", "repository:a/b:pull repository:c:pull",
                             "repository:a/b:pull", "registry:catalog:*"});
  EXPECT_EQ(merged, (std::vector<std::string>{"registry:catalog:*", "repository:a/b:pull,push",
                                              "repository:c:pull"}));
  EXPECT_TRUE(MergeScopes({}).empty());
}

TEST(Base64Test, RoundTrip) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(Base64Decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_FALSE(Base64Decode("!!!!"));
  EXPECT_FALSE(Base64Decode("Z"));
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-registry-unit-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { (void)system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(DockerConfigCredentialsTest, ReadsAuthsInOrder) {
  TempDir dir;
  std::string own = dir.path() + "/berth.json", docker = dir.path() + "/config.json";
  WriteFile(docker, R"({"auths":{
      "https://index.docker.io/v1/":{"auth":")" +
                        Base64Encode("hub:secret:colon") + R"("},
      "http://localhost:5000/v2/":{"username":"u","password":"p"},
      "broken.example":{"auth":"%%%"},
      "reg.example":{"auth":")" +
                        Base64Encode("docker:1") + R"("}}})");
  WriteFile(own, R"({"auths":{"reg.example":{"auth":")" + Base64Encode("berth:2") + R"("}}})");
  DockerConfigCredentials creds({own, dir.path() + "/missing.json", docker});

  auto hub = creds.Get("docker.io");
  ASSERT_TRUE(hub && *hub);
  EXPECT_EQ(**hub, (Credentials{"hub", "secret:colon"}));
  auto local = creds.Get("localhost:5000");
  ASSERT_TRUE(local && *local);
  EXPECT_EQ(**local, (Credentials{"u", "p"}));
  auto reg = creds.Get("reg.example");
  ASSERT_TRUE(reg && *reg);
  EXPECT_EQ((*reg)->username, "berth");
  auto none = creds.Get("broken.example");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_FALSE(*creds.Get("other.example"));

  WriteFile(own, "not json");
  auto bad = creds.Get("reg.example");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(DockerConfigCredentialsTest, StoreKeepsOtherKeys) {
  TempDir dir;
  std::string path = dir.path() + "/config.json";
  WriteFile(path, R"({"credsStore":"x","auths":{"a.example":{"auth":"YTpi"}}})");
  ASSERT_TRUE(DockerConfigCredentials::Store(path, "docker.io", Credentials{"me", "pw"}));
  ASSERT_TRUE(DockerConfigCredentials::Store(path, "b.example:5000", Credentials{"x", "y"}));
  DockerConfigCredentials creds({path});
  EXPECT_EQ(**creds.Get("index.docker.io"), (Credentials{"me", "pw"}));
  EXPECT_EQ(**creds.Get("a.example"), (Credentials{"a", "b"}));
  EXPECT_EQ(**creds.Get("b.example:5000"), (Credentials{"x", "y"}));
  ASSERT_TRUE(DockerConfigCredentials::Store(path, "b.example:5000", std::nullopt));
  EXPECT_FALSE(*creds.Get("b.example:5000"));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("credsStore"), std::string::npos);
  EXPECT_NE(text.find("https://index.docker.io/v1/"), std::string::npos);
  EXPECT_EQ(access((path + ".tmp").c_str(), F_OK), -1);
}

TEST(HostsTest, LoopbackIsInsecure) {
  for (const char* h : {"localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000",
                        "::1", "LOCALHOST:1"}) {
    EXPECT_TRUE(IsLoopbackHost(h)) << h;
  }
  for (const char* h : {"docker.io", "128.0.0.1", "10.0.0.1:5000", "[::2]:5000", "localhost.com"}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
  }
}

TEST(HostsTest, EndpointsAndCerts) {
  TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/reg.example:5000").c_str(), 0755), 0);
  WriteFile(dir.path() + "/reg.example:5000/ca.crt", "pem");
  RegistryHosts hosts(RegistryHosts::Options{
      .certs_dir = dir.path(),
      .insecure_registries = {"plain.example"},
      .registry_mirrors = {"https://mirror.example/", "http://127.0.0.1:5001"}});

  auto hub = hosts.ReadEndpoints("docker.io");
  ASSERT_EQ(hub.size(), 3u);
  EXPECT_EQ(hub[0].base_url, "https://mirror.example");
  EXPECT_TRUE(hub[0].mirror);
  EXPECT_EQ(hub[1].base_url, "http://127.0.0.1:5001");
  EXPECT_EQ(hub[1].host, "127.0.0.1:5001");
  EXPECT_EQ(hub[2].base_url, "https://registry-1.docker.io");
  EXPECT_EQ(hub[2].domain, "docker.io");
  EXPECT_FALSE(hub[2].mirror);

  EXPECT_EQ(hosts.Upstream("plain.example").base_url, "http://plain.example");
  EXPECT_EQ(hosts.Upstream("localhost:5000").base_url, "http://localhost:5000");
  Endpoint reg = hosts.Upstream("reg.example:5000");
  EXPECT_EQ(reg.base_url, "https://reg.example:5000");
  EXPECT_EQ(reg.config.ca_file, dir.path() + "/reg.example:5000/ca.crt");
  EXPECT_EQ(hosts.ReadEndpoints("reg.example:5000").size(), 1u);

  HostConfig tls;
  tls.insecure = false;
  hosts.Set("127.0.0.1:6000", tls);
  EXPECT_EQ(hosts.Upstream("127.0.0.1:6000").base_url, "https://127.0.0.1:6000");
}

TEST(ErrorsTest, RegistryTextAndCodes) {
  auto e = ErrorFromResponse(
      404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]})",
      "manifest for x not found");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.message(), "manifest for x not found: manifest unknown: manifest unknown");
  EXPECT_EQ(ErrorFromResponse(401, "", "").message(), "unauthorized: authentication required");
  EXPECT_EQ(ErrorFromResponse(403, "", "").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrorFromResponse(429, "", "").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorFromResponse(503, "<html>oops</html>", "get").message(), "get: HTTP 503");
  EXPECT_EQ(ErrorFromResponse(400, "", "").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RegistryErrorText(R"({"errors":[{"code":"A_B"},{"message":"m"},5,{"code":7}]})"),
            "a b; m");
  for (const char* junk : {"", "null", "[]", "{\"errors\":5}", "{\"errors\":[null]}", "\xff\xfe"}) {
    EXPECT_EQ(RegistryErrorText(junk), "") << junk;
  }
  EXPECT_TRUE(IsRetryableStatus(502));
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_FALSE(IsRetryableStatus(501));
  EXPECT_FALSE(IsRetryableStatus(404));
}

}  // namespace
}  // namespace berth::registry
