// Table-driven tests for image reference parsing and normalisation; the cases follow Docker's
// distribution/reference test tables (reference_test.go, normalize_test.go).
#include "oci/reference.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

using base::ErrorCode;

const std::string kHex = std::string(64, 'f');
const std::string kDigest = "sha256:" + kHex;

struct ValidCase {
  std::string input;
  std::string domain;
  std::string path;
  std::string tag;     // after ParseReference (default tag added)
  std::string digest;  // "" when none
  std::string string;
  std::string familiar;
};

class ValidReferenceTest : public testing::TestWithParam<ValidCase> {};

TEST_P(ValidReferenceTest, Parses) {
  const ValidCase& c = GetParam();
  auto ref = ParseReference(c.input);
  ASSERT_TRUE(ref) << c.input << ": " << ref.error().message();
  EXPECT_EQ(ref->domain, c.domain);
  EXPECT_EQ(ref->path, c.path);
  EXPECT_EQ(ref->tag, c.tag);
  EXPECT_EQ(ref->digest ? ref->digest->ToString() : "", c.digest);
  EXPECT_EQ(ref->Name(), c.domain + "/" + c.path);
  EXPECT_EQ(ref->String(), c.string);
  EXPECT_EQ(ref->FamiliarString(), c.familiar);

  // The normalised form is a fixed point.
  auto again = ParseReference(ref->String());
  ASSERT_TRUE(again) << ref->String() << ": " << again.error().message();
  EXPECT_EQ(*again, *ref);
}

const ValidCase kValid[] = {
    // Docker Hub normalisation.
    {"busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest",
     "busybox:latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", "docker.io/library/busybox:1.36",
     "busybox:1.36"},
    {"library/busybox", "docker.io", "library/busybox", "latest", "",
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", "",
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"docker.io/library/busybox:musl", "docker.io", "library/busybox", "musl", "",
     "docker.io/library/busybox:musl", "busybox:musl"},
    {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", "",
     "docker.io/library/busybox:latest", "busybox:latest"},
    {"index.docker.io/foo/bar", "docker.io", "foo/bar", "latest", "", "docker.io/foo/bar:latest",
     "foo/bar:latest"},
    {"foo/bar", "docker.io", "foo/bar", "latest", "", "docker.io/foo/bar:latest", "foo/bar:latest"},
    {"library/a/b", "docker.io", "library/a/b", "latest", "", "docker.io/library/a/b:latest",
     "library/a/b:latest"},
    {"docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "docker.io",
     "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "latest", "",
     "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
     "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest"},
    {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
     "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", "",
     "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
     "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest"},
    // Path component separators.
    {"docker-rules/docker", "docker.io", "docker-rules/docker", "latest", "",
     "docker.io/docker-rules/docker:latest", "docker-rules/docker:latest"},
    {"docker---rules/docker", "docker.io", "docker---rules/docker", "latest", "",
     "docker.io/docker---rules/docker:latest", "docker---rules/docker:latest"},
    {"dock__er/do_ck.er", "docker.io", "dock__er/do_ck.er", "latest", "",
     "docker.io/dock__er/do_ck.er:latest", "dock__er/do_ck.er:latest"},
    {"d/docker", "docker.io", "d/docker", "latest", "", "docker.io/d/docker:latest",
     "d/docker:latest"},
    {"jess/t", "docker.io", "jess/t", "latest", "", "docker.io/jess/t:latest", "jess/t:latest"},
    // A first component is a domain only when it has '.' or ':', is localhost, or has uppercase.
    {"localhost", "docker.io", "library/localhost", "latest", "",
     "docker.io/library/localhost:latest", "localhost:latest"},
    {"localhost/foo", "localhost", "foo", "latest", "", "localhost/foo:latest",
     "localhost/foo:latest"},
    {"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", "", "localhost:5000/a/b:t",
     "localhost:5000/a/b:t"},
    {"localhost:5000", "docker.io", "library/localhost", "5000", "",
     "docker.io/library/localhost:5000", "localhost:5000"},
    {"test.com:5000", "docker.io", "library/test.com", "5000", "",
     "docker.io/library/test.com:5000", "test.com:5000"},
    {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", "",
     "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"},
    {"192.168.0.1", "docker.io", "library/192.168.0.1", "latest", "",
     "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest"},
    {"example.com/foo", "example.com", "foo", "latest", "", "example.com/foo:latest",
     "example.com/foo:latest"},
    {"127.0.0.1:5000/docker/docker:tag", "127.0.0.1:5000", "docker/docker", "tag", "",
     "127.0.0.1:5000/docker/docker:tag", "127.0.0.1:5000/docker/docker:tag"},
    {"192.168.0.1:8/debian", "192.168.0.1:8", "debian", "latest", "", "192.168.0.1:8/debian:latest",
     "192.168.0.1:8/debian:latest"},
    {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux",
     "some-long-tag", "", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
     "sub-dom1.foo.com/bar/baz/quux:some-long-tag"},
    {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
     "test.example.com", "", "b.gcr.io/test.example.com/my-app:test.example.com",
     "b.gcr.io/test.example.com/my-app:test.example.com"},
    {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", "",
     "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"},
    {"LOCALDOMAIN/debian", "LOCALDOMAIN", "debian", "latest", "", "LOCALDOMAIN/debian:latest",
     "LOCALDOMAIN/debian:latest"},
    {"Docker/docker", "Docker", "docker", "latest", "", "Docker/docker:latest",
     "Docker/docker:latest"},
    {"docker.io:443/foo", "docker.io:443", "foo", "latest", "", "docker.io:443/foo:latest",
     "docker.io:443/foo:latest"},
    // IPv6 hosts.
    {"[::1]:5000/a", "[::1]:5000", "a", "latest", "", "[::1]:5000/a:latest", "[::1]:5000/a:latest"},
    {"[2001:db8::1]/repo:tag", "[2001:db8::1]", "repo", "tag", "", "[2001:db8::1]/repo:tag",
     "[2001:db8::1]/repo:tag"},
    {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian",
     "latest", "", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
     "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"},
    {"[2001:db8::1]:5000/repo:tag@" + kDigest, "[2001:db8::1]:5000", "repo", "tag", kDigest,
     "[2001:db8::1]:5000/repo:tag@" + kDigest, "[2001:db8::1]:5000/repo:tag@" + kDigest},
    // Tags.
    {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", "",
     "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"},
    {"a:_x.y-z", "docker.io", "library/a", "_x.y-z", "", "docker.io/library/a:_x.y-z", "a:_x.y-z"},
    {"a:" + std::string(128, 't'), "docker.io", "library/a", std::string(128, 't'), "",
     "docker.io/library/a:" + std::string(128, 't'), "a:" + std::string(128, 't')},
    // "sha256:<hex>" alone is the repository library/sha256 with a tag, as in Docker.
    {"sha256:" + kHex, "docker.io", "library/sha256", kHex, "", "docker.io/library/sha256:" + kHex,
     "sha256:" + kHex},
    // Digests: digest only (no default tag), and tag plus digest.
    {"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest,
     "docker.io/library/busybox@" + kDigest, "busybox@" + kDigest},
    {"busybox:1.36@" + kDigest, "docker.io", "library/busybox", "1.36", kDigest,
     "docker.io/library/busybox:1.36@" + kDigest, "busybox:1.36@" + kDigest},
    {"test:5000/repo@" + kDigest, "test:5000", "repo", "", kDigest, "test:5000/repo@" + kDigest,
     "test:5000/repo@" + kDigest},
    {"localhost/a@sha512:" + std::string(128, '0'), "localhost", "a", "",
     "sha512:" + std::string(128, '0'), "localhost/a@sha512:" + std::string(128, '0'),
     "localhost/a@sha512:" + std::string(128, '0')},
    // Length: the path may be 255 characters, whatever the domain adds.
    {"example.com/" + std::string(255, 'a') + ":tag", "example.com", std::string(255, 'a'), "tag",
     "", "example.com/" + std::string(255, 'a') + ":tag",
     "example.com/" + std::string(255, 'a') + ":tag"},
};

INSTANTIATE_TEST_SUITE_P(Table, ValidReferenceTest, testing::ValuesIn(kValid));

struct InvalidCase {
  std::string input;
  std::string message;  // the whole message
};

class InvalidReferenceTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidReferenceTest, Fails) {
  const InvalidCase& c = GetParam();
  auto ref = ParseReference(c.input);
  ASSERT_FALSE(ref) << c.input << " parsed as " << ref->String();
  EXPECT_EQ(ref.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ref.error().message(), c.message) << c.input;
  EXPECT_FALSE(ParseNamedReference(c.input)) << c.input;
}

const std::string kFormat = "invalid reference format";
const std::string kLowercase = "invalid reference format: repository name must be lowercase";
const std::string kTooLong =
    "invalid reference format: repository name must not be more than 255 characters";

const InvalidCase kInvalid[] = {
    {"", kFormat},
    {":justtag", kFormat},
    {"@" + kDigest, kFormat},
    {"https://github.com/docker/docker", kFormat},
    {"-docker", kFormat},
    {"-docker/docker", kFormat},
    {"docker-/docker", kFormat},
    {"-docker-/docker", kFormat},
    {"-docker.io/docker/docker", kFormat},
    {"docker///docker", kFormat},
    {"docker.io/docker///docker", kFormat},
    {"docker/", kFormat},
    {"/docker", kFormat},
    {"____/____", kFormat},
    {"_docker/_docker", kFormat},
    {"dock..er/docker", kFormat},
    {"dock_.er/docker", kFormat},
    {"dock-.er/docker", kFormat},
    {"dock___er/docker", kFormat},
    {"aa/asdf$$^/aa", kFormat},
    {"foo bar", kFormat},
    {"foo/bar\n", kFormat},
    {"a:b:c", kFormat},
    {"busybox:", kFormat},
    {"busybox:-tag", kFormat},
    {"busybox:.tag", kFormat},
    {"busybox:a/b", kFormat},
    {"a:" + std::string(129, 't'), kFormat},
    {"busybox@", kFormat},
    {"busybox@sha256:abc", kFormat},
    {"busybox@sha256:" + kHex + "@" + kDigest, kFormat},
    {"busybox@" + kDigest + ":tag", kFormat},
    {"localhost:/foo", kFormat},
    {"localhost:abc/foo", kFormat},
    {"exa_mple.com/foo", kFormat},
    // IPv6: a bracketed host needs a path; no zones, no embedded IPv4.
    {"[fc00::1]", kFormat},
    {"[fc00::1]:5000", kFormat},
    {"[2001:db8::1]:tag", kFormat},
    {"fc00::1:5000/debian", kFormat},
    {"[fe80::1%eth0]:5000/debian", kFormat},
    {"[2001:db8:3:4::192.0.2.33]:5000/debian", kFormat},
    {"[]:5000/a", kFormat},
    {"[::1]:/a", kFormat},
    // Digests that match the grammar but not a digest berth supports.
    {"busybox@sha256:" + std::string(64, 'F'),
     "invalid reference format: invalid digest \"sha256:" + std::string(64, 'F') +
         "\": sha256 needs 64 lowercase hex characters"},
    {"repo@sha256:" + std::string(34, 'f'),
     "invalid reference format: invalid digest \"sha256:" + std::string(34, 'f') +
         "\": sha256 needs 64 lowercase hex characters"},
    {"validname@invaliddigest:" + kHex,
     "invalid reference format: invalid digest \"invaliddigest:" + kHex +
         "\": unsupported algorithm \"invaliddigest\""},
    // Uppercase in the repository.
    {"UPPER", kLowercase},
    {"Uppercase:tag", kLowercase},
    {"docker/Docker", kLowercase},
    {"docker.io/docker/Docker", kLowercase},
    {"test:5000/Uppercase/lowercase:tag", kLowercase},
    {"Foo_Bar/x", kLowercase},
    {"[::1]:5000/Repo", kLowercase},
    // 64 hex characters alone would be ambiguous with an image ID.
    {"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
     "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), "
     "cannot specify 64-byte hexadecimal strings"},
    // Length.
    {"example.com/" + std::string(256, 'a') + ":tag", kTooLong},
    {std::string(120, 'a') + "/" + std::string(140, 'b'), kTooLong},
};

INSTANTIATE_TEST_SUITE_P(Table, InvalidReferenceTest, testing::ValuesIn(kInvalid));

TEST(ReferenceTest, NamedReferenceAddsNoTag) {
  auto ref = ParseNamedReference("busybox");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->tag, "");
  EXPECT_FALSE(ref->digest);
  EXPECT_EQ(ref->String(), "docker.io/library/busybox");
  EXPECT_EQ(ref->FamiliarName(), "busybox");
  EXPECT_EQ(ref->FamiliarString(), "busybox");

  auto tagged = ParseNamedReference("busybox:1");
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->tag, "1");
}

TEST(ReferenceTest, EquivalentSpellingsCompareEqual) {
  auto a = ParseReference("busybox");
  auto b = ParseReference("docker.io/library/busybox:latest");
  auto c = ParseReference("index.docker.io/library/busybox");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_NE(*a, *ParseReference("busybox:1"));
}

TEST(ReferenceTest, FamiliarName) {
  EXPECT_EQ(ParseReference("docker.io/library/ubuntu")->FamiliarName(), "ubuntu");
  EXPECT_EQ(ParseReference("docker.io/library/a/b")->FamiliarName(), "library/a/b");
  EXPECT_EQ(ParseReference("nonlibrary/ubuntu")->FamiliarName(), "nonlibrary/ubuntu");
  EXPECT_EQ(ParseReference("localhost/library/ubuntu")->FamiliarName(), "localhost/library/ubuntu");
  EXPECT_EQ(ParseReference("ghcr.io/library/x")->FamiliarName(), "ghcr.io/library/x");
}

TEST(ReferenceTest, RegistryHost) {
  EXPECT_EQ(RegistryHost("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(RegistryHost("localhost:5000"), "localhost:5000");
  EXPECT_EQ(RegistryHost("ghcr.io"), "ghcr.io");
}

}  // namespace
}  // namespace berth::oci
