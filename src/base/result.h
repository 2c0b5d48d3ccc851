// Result<T>: tl::expected<T, Error>, and TRY, which unwraps a Result or returns its error.
//
//   Result<int> ParsePort(std::string_view s);
//   Result<void> Listen() { int port = TRY(ParsePort(s)); ... return {}; }
//   TRY_CTX(expr, "what we were doing") adds context to the error on the way up.
#pragma once

#include <tl/expected.hpp>

#include "base/error.h"

namespace berth::base {

template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> Fail(Error e) { return tl::unexpected<Error>(std::move(e)); }

namespace internal {
template <typename T>
T TakeValue(tl::expected<T, Error>&& r) {
  return std::move(r).value();
}
inline void TakeValue(tl::expected<void, Error>&&) {}
}  // namespace internal

}  // namespace berth::base

// GNU statement expressions: the value of the last statement is the value of the block.
#define TRY(expr)                                                                          \
  ({                                                                                       \
    auto&& berth_try_result_ = (expr);                                                     \
    if (!berth_try_result_)                                                                \
      return ::tl::unexpected<::berth::base::Error>(std::move(berth_try_result_).error()); \
    ::berth::base::internal::TakeValue(std::move(berth_try_result_));                      \
  })

#define TRY_CTX(expr, ctx)                                            \
  ({                                                                  \
    auto&& berth_try_result_ = (expr);                                \
    if (!berth_try_result_)                                           \
      return ::tl::unexpected<::berth::base::Error>(                  \
          std::move(berth_try_result_).error().Context(ctx));         \
    ::berth::base::internal::TakeValue(std::move(berth_try_result_)); \
  })
