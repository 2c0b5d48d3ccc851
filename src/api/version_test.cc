// Tests for API version parsing and ordering.
#include "api/version.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

TEST(ApiVersionTest, ParsesMajorDotMinor) {
  auto v = ParseApiVersion("1.41");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 41);
  EXPECT_EQ(FormatApiVersion(*v), "1.41");
}

TEST(ApiVersionTest, RefusesJunk) {
  for (const char* s : {"", "1", "1.", ".1", "v1.41", "1.41.0", "1.x", "-1.2", "1.+2", "99999.1"})
    EXPECT_FALSE(ParseApiVersion(s)) << s;
}

TEST(ApiVersionTest, ComparesNumerically) {
  // 1.9 < 1.24 < 1.41 < 1.100: not a string comparison.
  EXPECT_LT(*ParseApiVersion("1.9"), *ParseApiVersion("1.24"));
  EXPECT_LT(*ParseApiVersion("1.24"), *ParseApiVersion("1.41"));
  EXPECT_LT(*ParseApiVersion("1.41"), *ParseApiVersion("1.100"));
  EXPECT_LT(MinApiVersion(), MaxApiVersion());
}

}  // namespace
}  // namespace berth::api
