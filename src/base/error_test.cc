#include "base/error.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "base/result.h"

namespace berth::base {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Fail(Error::InvalidArgument(fmt::format("{} is odd", x)));
  return x / 2;
}

Result<int> Quarter(int x) {
  int h = TRY_CTX(Half(x), "quarter");
  return TRY(Half(h));
}

Status Check(int x) {
  TRY(Half(x));
  return {};
}

TEST(ErrorTest, ErrnoClassification) {
  EXPECT_EQ(Error::FromErrno(ENOENT, "open x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(Error::FromErrno(EEXIST, "mkdir x").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(Error::FromErrno(EPERM, "mount").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(Error::FromErrno(EIO, "read").code(), ErrorCode::kErrno);
  EXPECT_EQ(Error::FromErrno(EPERM, "mount").sys_errno(), EPERM);
  EXPECT_EQ(Error::FromErrno(ENOENT, "open \"x\"").message(),
            "open \"x\": No such file or directory");
}

TEST(ErrorTest, TryPropagatesWithContext) {
  EXPECT_EQ(Quarter(8).value(), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "3 is odd");
  auto r2 = Quarter(5);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message(), "quarter: 5 is odd");
  EXPECT_EQ(r2.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Check(2));
  EXPECT_FALSE(Check(3));
}

}  // namespace
}  // namespace berth::base
