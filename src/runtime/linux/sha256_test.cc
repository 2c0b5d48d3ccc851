// SHA-256 (sha256.h): FIPS 180-4's examples, input split at every offset, and the block function
// that uses the CPU's SHA extensions against the portable one.
#include "runtime/linux/sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace berth::runtime::linux {
namespace {

std::string Hex(const std::array<uint8_t, 32>& d) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

TEST(Sha256Test, MatchesTheStandardsExamples) {
  EXPECT_EQ(Hex(Sha256Of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256Of(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, TheSameDigestHoweverTheInputIsSplit) {
  std::string data(300, '\0');
  std::mt19937 rng(7);
  for (auto& c : data) c = static_cast<char>(rng());
  const auto whole = Sha256Of(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    Sha256 h;
    h.Update(std::string_view(data).substr(0, cut));
    h.Update(std::string_view(data).substr(cut));
    ASSERT_EQ(h.Finish(), whole) << "cut at " << cut;
  }
}

TEST(Sha256Test, ShaExtensionsAgreeWithThePortableCode) {
  if (!Sha256::UsesShaExtensions()) GTEST_SKIP() << "this CPU has no SHA extensions";
  std::mt19937 rng(11);
  for (size_t blocks : {1u, 2u, 3u, 17u}) {
    std::string data(blocks * 64, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    uint32_t a[8], b[8];
    for (int i = 0; i < 8; ++i) a[i] = b[i] = static_cast<uint32_t>(rng());
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    internal::PortableBlocks(a, p, blocks);
    internal::ShaNiBlocks(b, p, blocks);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(a[i], b[i]) << blocks << " blocks, word " << i;
  }
}

}  // namespace
}  // namespace berth::runtime::linux
