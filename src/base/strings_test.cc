#include "base/strings.h"

#include <gtest/gtest.h>

namespace berth::base {
namespace {

TEST(StringsTest, SplitJoinTrim) {
  EXPECT_EQ(Split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitNonEmpty("/a//b/", '/'), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Join({"x", "y"}, ", "), "x, y");
  EXPECT_EQ(Trim("  hi\n"), "hi");
}

TEST(StringsTest, ParseNumbers) {
  EXPECT_EQ(ParseInt("-12"), -12);
  EXPECT_FALSE(ParseInt("12x"));
  EXPECT_FALSE(ParseInt(""));
  EXPECT_EQ(ParseUint("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(ParseUint("18446744073709551616"));
}

TEST(StringsTest, JsonEscape) { EXPECT_EQ(JsonEscape("a\"b\\\n\x01"), "a\\\"b\\\\\\n\\u0001"); }

}  // namespace
}  // namespace berth::base
