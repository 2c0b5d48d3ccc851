#include "base/time.h"

#include <gtest/gtest.h>
#include <time.h>

namespace berth::base {
namespace {

TEST(TimeTest, FormatsUtcWithNanoseconds) {
  EXPECT_EQ(FormatRfc3339Nano({0, 0}), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nano({951782400, 5}), "2000-02-29T00:00:00.000000005Z");  // leap day
  EXPECT_EQ(FormatRfc3339Nano({1796389413, 523715000}), "2026-12-04T13:03:33.523715000Z");
  EXPECT_EQ(FormatRfc3339Nano({4102444799, 999999999}), "2099-12-31T23:59:59.999999999Z");
}

TEST(TimeTest, AgreesWithGmtime) {
  for (time_t t = 0; t < 4102444800; t += 86399 * 37 + 12345) {
    struct tm tm;
    gmtime_r(&t, &tm);
    char want[64];
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.000000000Z", &tm);
    ASSERT_EQ(FormatRfc3339Nano({t, 0}), want) << t;
  }
}

}  // namespace
}  // namespace berth::base
