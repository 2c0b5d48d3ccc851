#include "shim/standby.h"

#include <gtest/gtest.h>
#include <malloc.h>

namespace berth::shim {
namespace {

TEST(StandbyTest, WarmUpParsesItsSampleConfig) { EXPECT_TRUE(WarmUp()); }

// The heap WarmUp touched stays with the allocator for the launch (no trim on free).
TEST(StandbyTest, WarmUpKeepsTheHeapItTouched) {
  ASSERT_TRUE(WarmUp());
  struct mallinfo2 mi = ::mallinfo2();
  EXPECT_GE(mi.fordblks, size_t(200) << 10) << "free bytes kept in the main arena";
}

TEST(Assignment, RoundTripsArgumentsWithEmptyOnes) {
  std::vector<std::string> args = {"--id", "c1", "--log-path", "", "--tty"};
  std::string record = EncodeAssignment(args);
  EXPECT_EQ(record, std::string("--id\0c1\0--log-path\0\0--tty\0", 26));
  EXPECT_EQ(DecodeAssignment(record), args);
  EXPECT_TRUE(DecodeAssignment("").empty());
  // A last argument without its NUL still counts.
  EXPECT_EQ(DecodeAssignment(std::string("--id\0c2", 7)), (std::vector<std::string>{"--id", "c2"}));
}

}  // namespace
}  // namespace berth::shim
