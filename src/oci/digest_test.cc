// Tests for digest parsing and SHA-256 hashing (FIPS 180-2 test vectors).
#include "oci/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

using base::ErrorCode;

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesSha256) {
  auto d = Digest::Parse(std::string("sha256:") + kEmptySha256);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->hex(), kEmptySha256);
  EXPECT_EQ(d->ToString(), std::string("sha256:") + kEmptySha256);
  EXPECT_FALSE(d->empty());
}

TEST(DigestTest, ParsesSha512) {
  auto d = Digest::Parse("sha512:" + std::string(128, 'a'));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->algorithm(), "sha512");
}

TEST(DigestTest, RejectsInvalid) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string hex64(64, 'a');
  const Case cases[] = {
      {"", "invalid digest \"\": expected algorithm:hex"},
      {hex64, "expected algorithm:hex"},
      {":" + hex64, "missing algorithm"},
      {"md5:" + hex64, "unsupported algorithm \"md5\""},
      {"SHA256:" + hex64, "unsupported algorithm \"SHA256\""},
      {"sha256:", "sha256 needs 64 lowercase hex characters"},
      {"sha256:" + std::string(63, 'a'), "sha256 needs 64"},
      {"sha256:" + std::string(65, 'a'), "sha256 needs 64"},
      {"sha256:" + std::string(64, 'A'), "lowercase hex"},
      {"sha256:" + std::string(63, 'a') + "g", "lowercase hex"},
      {"sha256:" + hex64 + " ", "lowercase hex"},
      {"sha512:" + hex64, "sha512 needs 128"},
      {"sha256:" + std::string(32, 'a') + ":" + std::string(31, 'a'), "lowercase hex"},
  };
  for (const auto& c : cases) {
    auto d = Digest::Parse(c.text);
    ASSERT_FALSE(d) << c.text;
    EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message().find(c.message), std::string::npos)
        << c.text << ": " << d.error().message();
  }
}

TEST(DigestTest, ComparesByValue) {
  Digest a = Digest::Sha256FromHex(std::string(64, 'a'));
  Digest b = Digest::Sha256FromHex(std::string(64, 'b'));
  EXPECT_EQ(a, *Digest::Parse("sha256:" + std::string(64, 'a')));
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_TRUE(Digest().empty());
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Of("").hex(), kEmptySha256);
  EXPECT_EQ(Sha256Of("abc").ToString(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalMatchesOneShot) {
  Sha256 h;
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(chunk);
  EXPECT_EQ(h.Finish().hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  std::string text = "the quick brown fox jumps over the lazy dog";
  Sha256 split;
  split.Update(text.data(), 7);
  split.Update(text.data() + 7, 0);
  split.Update(std::string_view(text).substr(7));
  EXPECT_EQ(split.Finish(), Sha256Of(text));
}

TEST(Sha256Test, FinishedDigestParses) {
  Digest d = Sha256Of("x");
  auto parsed = Digest::Parse(d.ToString());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, d);
}

}  // namespace
}  // namespace berth::oci
